//! Agreement with an independent implementation: the muspy library (ISMIR 2020) computes six of
//! our metrics. `scripts/metrics_agreement.py` runs muspy on a fixed sample of at least 50 files
//! from `../shared/datasets` and also writes the notes muspy read; this test computes ours on
//! the same notes and requires equality to 1e-6. Skips, saying why, when python3, muspy or the
//! datasets are missing.

use orchestrion_metrics::muspy as ours;
use orchestrion_music::{Limits, Note, Song, Track, TrackRole};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const TOLERANCE: f64 = 1e-6;
const MIN_FILES: usize = 50;

#[derive(Debug, Deserialize)]
struct Reference {
    muspy_version: String,
    files: Vec<FileEntry>,
}

#[derive(Debug, Deserialize)]
struct FileEntry {
    path: String,
    error: Option<String>,
    resolution: Option<u16>,
    measure_ticks: Option<u64>,
    /// Song length as muspy sees it (control changes included).
    end_tick: Option<u64>,
    /// muspy's values on the file as muspy reads it.
    muspy: Option<Values>,
    /// muspy's values after dropping everything but the notes.
    muspy_notes_only: Option<Values>,
    tracks: Option<Vec<ReferenceTrack>>,
}

#[derive(Debug, Deserialize)]
struct ReferenceTrack {
    is_drum: bool,
    /// `[start, duration, pitch, velocity]` in ticks.
    notes: Vec<[u64; 4]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
struct Values {
    empty_beat_rate: Option<f64>,
    polyphony_rate: Option<f64>,
    pitch_class_entropy: Option<f64>,
    scale_consistency: Option<f64>,
    drum_pattern_consistency: Option<f64>,
    groove_consistency: Option<f64>,
}

impl Values {
    fn of(song: &Song, measure_ticks: Option<u64>) -> Values {
        Values {
            empty_beat_rate: ours::empty_beat_rate(song),
            polyphony_rate: ours::polyphony_rate(song),
            pitch_class_entropy: ours::pitch_class_entropy(song),
            scale_consistency: ours::scale_consistency(song),
            drum_pattern_consistency: ours::drum_pattern_consistency(song),
            groove_consistency: measure_ticks.and_then(|m| ours::groove_consistency(song, m)),
        }
    }

    fn named(&self) -> [(&'static str, Option<f64>); 6] {
        [
            ("empty_beat_rate", self.empty_beat_rate),
            ("polyphony_rate", self.polyphony_rate),
            ("pitch_class_entropy", self.pitch_class_entropy),
            ("scale_consistency", self.scale_consistency),
            ("drum_pattern_consistency", self.drum_pattern_consistency),
            ("groove_consistency", self.groove_consistency),
        ]
    }

    /// The metrics on which `self` and `other` differ by more than the tolerance (or where one
    /// is undefined and the other not).
    fn differences(&self, other: &Values) -> Vec<String> {
        self.named()
            .iter()
            .zip(other.named())
            .filter(|((_, a), (_, b))| match (a, b) {
                (None, None) => false,
                (Some(a), Some(b)) => (a - b).abs() > TOLERANCE,
                _ => true,
            })
            .map(|((name, a), (_, b))| format!("{name}: ours {a:?}, muspy {b:?}"))
            .collect()
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn datasets() -> PathBuf {
    repo_root().join("../shared/datasets")
}

/// Runs the muspy script once for all tests; `None` (with the reason printed) when it cannot run.
fn reference() -> Option<&'static Reference> {
    static REFERENCE: OnceLock<Option<Reference>> = OnceLock::new();
    REFERENCE
        .get_or_init(|| {
            if !datasets().is_dir() {
                eprintln!("skipped: no datasets at {}", datasets().display());
                return None;
            }
            let dir = tempfile::tempdir().expect("temp dir");
            let out = dir.path().join("muspy.json");
            let status = Command::new("python3")
                .arg(repo_root().join("scripts/metrics_agreement.py"))
                .arg("--datasets")
                .arg(datasets())
                .arg("--out")
                .arg(&out)
                .status();
            match status {
                Err(e) => {
                    eprintln!("skipped: cannot run python3 ({e})");
                    None
                }
                Ok(s) if s.code() == Some(3) => {
                    eprintln!("skipped: muspy is not installed (pip install muspy)");
                    None
                }
                Ok(s) => {
                    assert!(s.success(), "scripts/metrics_agreement.py failed: {s}");
                    let text = std::fs::read_to_string(&out).expect("script output");
                    Some(serde_json::from_str(&text).expect("script output is JSON"))
                }
            }
        })
        .as_ref()
}

/// A song holding exactly the notes muspy read.
fn song_from_reference(entry: &FileEntry) -> Song {
    let tracks = entry
        .tracks
        .as_ref()
        .expect("tracks")
        .iter()
        .map(|t| Track {
            name: String::new(),
            program: 0,
            channel: if t.is_drum { 9 } else { 0 },
            is_drum: t.is_drum,
            role: if t.is_drum {
                TrackRole::Drums
            } else {
                TrackRole::Other
            },
            notes: t
                .notes
                .iter()
                .map(|&[start, duration, pitch, velocity]| Note {
                    pitch: pitch as u8,
                    velocity: velocity as u8,
                    start,
                    duration,
                })
                .collect(),
        })
        .collect();
    Song {
        ticks_per_beat: entry.resolution.expect("resolution"),
        tempos: vec![],
        meters: vec![],
        key_signatures: vec![],
        tracks,
        texts: vec![],
    }
}

fn note_end(song: &Song) -> u64 {
    song.tracks
        .iter()
        .flat_map(|t| &t.notes)
        .map(|n| n.start + n.duration)
        .max()
        .unwrap_or(0)
}

#[test]
fn every_shared_metric_equals_muspy_on_the_same_notes() {
    let Some(reference) = reference() else { return };
    let read: Vec<&FileEntry> = reference
        .files
        .iter()
        .filter(|f| f.error.is_none())
        .collect();
    for failed in reference.files.iter().filter(|f| f.error.is_some()) {
        eprintln!("muspy could not read {}: {:?}", failed.path, failed.error);
    }
    assert!(
        read.len() >= MIN_FILES,
        "only {} files read by muspy {}",
        read.len(),
        reference.muspy_version
    );
    let mut failures = Vec::new();
    let mut compared = 0usize;
    for entry in &read {
        let song = song_from_reference(entry);
        let ours = Values::of(&song, entry.measure_ticks);
        let theirs = entry.muspy_notes_only.expect("values");
        compared += ours.named().iter().filter(|(_, v)| v.is_some()).count();
        for difference in ours.differences(&theirs) {
            failures.push(format!("{}: {difference}", entry.path));
        }
    }
    eprintln!(
        "{} files, {compared} defined values compared with muspy {}",
        read.len(),
        reference.muspy_version
    );
    assert!(
        failures.is_empty(),
        "disagreements:\n{}",
        failures.join("\n")
    );
}

/// muspy counts a track's control changes (and lyrics) in the song's length, which moves three
/// length-based metrics; Orchestrion's `Song` keeps notes only. Where muspy's length is the last
/// note's end the values must agree; where it is longer they must differ only in those three.
#[test]
fn muspy_length_from_control_changes_explains_the_remaining_differences() {
    let Some(reference) = reference() else { return };
    let mut longer = 0usize;
    for entry in reference.files.iter().filter(|f| f.error.is_none()) {
        let song = song_from_reference(entry);
        let ours = Values::of(&song, entry.measure_ticks);
        let as_read = entry.muspy.expect("values");
        let differences = ours.differences(&as_read);
        if entry.end_tick == Some(note_end(&song)) {
            assert!(differences.is_empty(), "{}: {differences:?}", entry.path);
        } else {
            longer += 1;
            assert!(entry.end_tick > Some(note_end(&song)), "{}", entry.path);
            let length_based = ["empty_beat_rate", "polyphony_rate", "groove_consistency"];
            for d in &differences {
                assert!(
                    length_based.iter().any(|m| d.starts_with(m)),
                    "{}: {d}",
                    entry.path
                );
            }
        }
    }
    eprintln!("{longer} files where muspy's length includes control changes past the last note");
}

/// Notes as a sorted list of (drum, start, duration, pitch, velocity), for comparing readers.
fn note_list(song: &Song) -> Vec<(bool, u64, u64, u8, u8)> {
    let mut notes: Vec<_> = song
        .tracks
        .iter()
        .flat_map(|t| {
            t.notes
                .iter()
                .map(move |n| (t.is_drum, n.start, n.duration, n.pitch, n.velocity))
        })
        .collect();
    notes.sort_unstable();
    notes
}

/// The same comparison with the files read by our own MIDI reader: where it reads the same notes
/// as muspy, the values must agree as above; files where the two readers disagree are listed with
/// their first differing note, and must be a small minority.
#[test]
fn files_read_by_our_reader_give_muspys_values() {
    let Some(reference) = reference() else { return };
    let mut same_notes = 0usize;
    let mut reader_differences = Vec::new();
    for entry in reference.files.iter().filter(|f| f.error.is_none()) {
        let path = datasets().join(&entry.path);
        let song = match Song::read_file(&path, &Limits::default()) {
            Ok(song) => song,
            Err(e) => {
                reader_differences.push(format!("{}: our reader refuses it: {e}", entry.path));
                continue;
            }
        };
        let theirs = note_list(&song_from_reference(entry));
        let mine = note_list(&song);
        if mine != theirs {
            let first = mine.iter().zip(&theirs).position(|(a, b)| a != b);
            reader_differences.push(format!(
                "{}: {} notes read by us, {} by muspy; first difference at {first:?}: ours {:?}, muspy {:?}",
                entry.path,
                mine.len(),
                theirs.len(),
                first.and_then(|i| mine.get(i)),
                first.and_then(|i| theirs.get(i)),
            ));
            continue;
        }
        same_notes += 1;
        assert_eq!(
            song.ticks_per_beat,
            entry.resolution.unwrap(),
            "{}",
            entry.path
        );
        let ours = Values::of(&song, entry.measure_ticks);
        let expected = entry.muspy_notes_only.expect("values");
        let differences = ours.differences(&expected);
        assert!(differences.is_empty(), "{}: {differences:?}", entry.path);
    }
    for d in &reader_differences {
        eprintln!("reader difference: {d}");
    }
    eprintln!(
        "{same_notes} files read note for note like muspy, {} differently",
        reader_differences.len()
    );
    assert!(
        same_notes >= MIN_FILES,
        "only {same_notes} files read alike"
    );
}
