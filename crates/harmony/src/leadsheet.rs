//! The chord symbols of a MusicXML lead sheet (`<harmony>` elements), with where they fall.
//!
//! Only what chord symbols need is read: each `<measure>` of the first part, the time position
//! (`<divisions>`, the `<duration>` of notes that are not `<chord/>` members, `<backup>`,
//! `<forward>`) and every `<harmony>` (root, kind, bass, `<offset>`). Repeats are not unrolled:
//! positions follow the written order, as a MIDI rendering of the score does.
//! Compressed `.mxl` files are zip archives whose first `.xml`/`.musicxml` entry outside
//! `META-INF/` is the score.

use crate::chord::{Chord, PitchClass, Quality};
use quick_xml::Reader;
use quick_xml::events::Event;
use std::io::Read;
use std::path::Path;

/// Bytes of XML a lead sheet may hold: far above any song, low enough that a zip bomb cannot
/// fill memory.
const MAX_XML_BYTES: u64 = 64 << 20;

/// One chord symbol at a position in quarter notes from the start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SymbolAt {
    pub quarters: f64,
    /// `None` for an explicit N.C. (`<kind>none</kind>`).
    pub chord: Option<Chord>,
}

/// Why a lead sheet could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LeadSheetError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a readable .mxl archive: {0}")]
    Zip(String),
    #[error("the .mxl archive holds no MusicXML score")]
    NoScore,
    #[error("the score is over {} MiB of XML", MAX_XML_BYTES >> 20)]
    TooLarge,
    #[error("malformed MusicXML: {0}")]
    Xml(String),
}

/// The MusicXML text of a `.mxl` archive or a plain `.xml`/`.musicxml` file.
pub fn read_score_text(path: &Path) -> Result<String, LeadSheetError> {
    let bytes = std::fs::read(path)?;
    if !bytes.starts_with(b"PK") {
        return String::from_utf8(bytes).map_err(|e| LeadSheetError::Xml(e.to_string()));
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| LeadSheetError::Zip(e.to_string()))?;
    let name = archive
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| !n.starts_with("META-INF") && (n.ends_with(".xml") || n.ends_with(".musicxml")))
        .map(|n| n.into_owned())
        .next()
        .ok_or(LeadSheetError::NoScore)?;
    let entry = archive
        .by_name(&name)
        .map_err(|e| LeadSheetError::Zip(e.to_string()))?;
    let mut text = String::new();
    entry.take(MAX_XML_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_XML_BYTES {
        return Err(LeadSheetError::TooLarge);
    }
    Ok(text)
}

/// The chord symbols of the first part of a lead sheet file.
pub fn read_symbols(path: &Path) -> Result<Vec<SymbolAt>, LeadSheetError> {
    parse_symbols(&read_score_text(path)?)
}

/// A MusicXML `<kind>` value as a quality: extensions (9ths, 11ths, 13ths) are heard as the
/// seventh chord they extend; `power` as major; `none` as N.C.
pub fn quality_of_kind(kind: &str) -> Option<Option<Quality>> {
    Some(Some(match kind.trim() {
        "major" | "power" | "pedal" => Quality::Major,
        "minor" | "minor-major" => Quality::Minor,
        "dominant" | "dominant-seventh" | "dominant-ninth" | "dominant-11th" | "dominant-13th"
        | "augmented-seventh" => Quality::Dominant7,
        "major-seventh" | "major-ninth" | "major-11th" | "major-13th" => Quality::Major7,
        "minor-seventh" | "minor-ninth" | "minor-11th" | "minor-13th" => Quality::Minor7,
        "diminished" => Quality::Diminished,
        "diminished-seventh" => Quality::Diminished7,
        "half-diminished" => Quality::HalfDiminished,
        "augmented" => Quality::Augmented,
        "suspended-fourth" => Quality::Sus4,
        "suspended-second" => Quality::Sus2,
        "major-sixth" => Quality::Major6,
        "minor-sixth" => Quality::Minor6,
        "none" => return Some(None),
        _ => return None,
    }))
}

fn step_pitch_class(step: &str, alter: f64) -> Option<PitchClass> {
    let natural = match step.trim() {
        "C" => 0,
        "D" => 2,
        "E" => 4,
        "F" => 5,
        "G" => 7,
        "A" => 9,
        "B" => 11,
        _ => return None,
    };
    Some((natural + alter.round() as i32).rem_euclid(12) as PitchClass)
}

/// What the parser is inside of.
#[derive(Default)]
struct HarmonyParts {
    root_step: String,
    root_alter: f64,
    bass_step: Option<String>,
    bass_alter: f64,
    kind: String,
    offset: f64,
}

/// The chord symbols of the first `<part>` of a MusicXML document.
pub fn parse_symbols(xml: &str) -> Result<Vec<SymbolAt>, LeadSheetError> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut divisions = 1.0f64;
    let mut position = 0.0f64; // in divisions
    let mut measure_start = 0.0f64;
    let mut measure_length = 0.0f64;
    let mut note_duration = 0.0f64;
    let mut note_is_chord = false;
    let mut note_is_grace = false;
    let mut harmony: Option<HarmonyParts> = None;
    let mut parts_seen = 0;
    let mut text = String::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| LeadSheetError::Xml(e.to_string()))?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                match name.as_str() {
                    "part" => parts_seen += 1,
                    "measure" if parts_seen == 1 => {
                        measure_start = position;
                        measure_length = 0.0;
                    }
                    "note" => {
                        note_duration = 0.0;
                        note_is_chord = false;
                        note_is_grace = false;
                    }
                    "harmony" if parts_seen == 1 => harmony = Some(HarmonyParts::default()),
                    _ => {}
                }
                path.push(name);
                text.clear();
            }
            Event::Empty(e) => {
                let name = e.name();
                match name.as_ref() {
                    b"chord" => note_is_chord = true,
                    b"grace" => note_is_grace = true,
                    _ => {}
                }
            }
            Event::Text(t) => {
                let decoded = t.decode().map_err(|e| LeadSheetError::Xml(e.to_string()))?;
                text.push_str(&decoded);
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                path.pop();
                let parent = path.last().map(String::as_str).unwrap_or("");
                if parts_seen == 1 {
                    let value = text.trim();
                    match (parent, name.as_str()) {
                        ("attributes", "divisions") => {
                            divisions = value.parse::<f64>().unwrap_or(1.0).max(1e-9);
                        }
                        ("note", "duration") => note_duration = value.parse().unwrap_or(0.0),
                        ("backup", "duration") => {
                            position -= value.parse::<f64>().unwrap_or(0.0);
                            position = position.max(measure_start);
                        }
                        ("forward", "duration") => {
                            position += value.parse::<f64>().unwrap_or(0.0);
                        }
                        ("root", "root-step") => {
                            if let Some(h) = harmony.as_mut() {
                                h.root_step = value.to_string();
                            }
                        }
                        ("root", "root-alter") => {
                            if let Some(h) = harmony.as_mut() {
                                h.root_alter = value.parse().unwrap_or(0.0);
                            }
                        }
                        ("bass", "bass-step") => {
                            if let Some(h) = harmony.as_mut() {
                                h.bass_step = Some(value.to_string());
                            }
                        }
                        ("bass", "bass-alter") => {
                            if let Some(h) = harmony.as_mut() {
                                h.bass_alter = value.parse().unwrap_or(0.0);
                            }
                        }
                        ("harmony", "kind") => {
                            if let Some(h) = harmony.as_mut() {
                                h.kind = value.to_string();
                            }
                        }
                        ("harmony", "offset") => {
                            if let Some(h) = harmony.as_mut() {
                                h.offset = value.parse().unwrap_or(0.0);
                            }
                        }
                        (_, "note") if !note_is_chord && !note_is_grace => {
                            position += note_duration;
                        }
                        (_, "harmony") => {
                            if let Some(h) = harmony.take() {
                                let quarters = (position + h.offset) / divisions;
                                if let Some(quality) = quality_of_kind(&h.kind) {
                                    let chord =
                                        match quality {
                                            None => None,
                                            Some(q) => step_pitch_class(&h.root_step, h.root_alter)
                                                .map(|root| {
                                                    let chord = Chord::new(root, q);
                                                    match h.bass_step.as_deref().and_then(|b| {
                                                        step_pitch_class(b, h.bass_alter)
                                                    }) {
                                                        Some(b) => chord.over(b),
                                                        None => chord,
                                                    }
                                                }),
                                        };
                                    out.push(SymbolAt { quarters, chord });
                                }
                            }
                        }
                        (_, "measure") => {
                            measure_length = measure_length.max(position - measure_start);
                            position = measure_start + measure_length;
                        }
                        _ => {}
                    }
                    measure_length = measure_length.max(position - measure_start);
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_fall_where_the_notes_put_them() {
        let xml = r#"<?xml version="1.0"?>
<score-partwise><part-list/><part id="P1">
<measure number="1"><attributes><divisions>2</divisions></attributes>
  <harmony><root><root-step>C</root-step></root><kind>major</kind></harmony>
  <note><pitch><step>E</step><octave>4</octave></pitch><duration>4</duration></note>
  <harmony><root><root-step>B</root-step><root-alter>-1</root-alter></root><kind>dominant</kind>
    <bass><bass-step>D</bass-step></bass></harmony>
  <note><pitch><step>D</step><octave>4</octave></pitch><duration>4</duration></note>
  <note><chord/><pitch><step>F</step><octave>4</octave></pitch><duration>4</duration></note>
</measure>
<measure number="2">
  <note><rest/><duration>2</duration></note>
  <harmony><root><root-step>F</root-step><root-alter>1</root-alter></root><kind>minor-seventh</kind><offset>1</offset></harmony>
  <note><pitch><step>A</step><octave>4</octave></pitch><duration>6</duration></note>
  <harmony><kind>none</kind></harmony>
</measure></part></score-partwise>"#;
        let symbols = parse_symbols(xml).unwrap();
        let shown: Vec<(f64, String)> = symbols
            .iter()
            .map(|s| (s.quarters, crate::symbol(s.chord.as_ref())))
            .collect();
        assert_eq!(
            shown,
            vec![
                (0.0, "C".to_string()),
                (2.0, "Bb7/D".to_string()),
                (5.5, "F#m7".to_string()),
                (8.0, "N.C.".to_string()),
            ]
        );
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(parse_symbols("<score-partwise><part></measure>").is_err());
    }
}
