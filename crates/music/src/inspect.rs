//! What a song holds, in one value: the data behind `orchestrion inspect`, as a table for people
//! and as stable JSON for scripts (documented in `docs/inspect.md`).
//!
//! JSON stability: fields are only ever added; a change that removes or redefines a field bumps
//! [`SongSummary::schema`]. Indices are 0-based (tracks, bars), programs are General MIDI
//! program numbers 0–127 and channels MIDI channels 0–15 (9 is the drum channel) as in
//! [`Track`](crate::Track). The table shows bars and channels 1-based, as musicians count.

use crate::grid::Grid;
use crate::key::Key;
use crate::song::Song;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Version of the JSON layout below.
pub const SUMMARY_SCHEMA: u32 = 1;

/// Tempo rows the table shows before summarizing the rest (the JSON always has all).
const TABLE_TEMPO_ROWS: usize = 8;

/// Everything `orchestrion inspect` reports about a song.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SongSummary {
    /// Layout version ([`SUMMARY_SCHEMA`]).
    pub schema: u32,
    pub ticks_per_beat: u16,
    /// Playing time to the end of the last note, following the tempo map.
    pub duration_seconds: f64,
    /// Number of bars ([`Song::bars`]).
    pub bars: usize,
    /// Length of the pickup (anacrusis) in beats, if the song starts with one ([`Song::pickup`]).
    pub pickup_beats: Option<f64>,
    /// Notes over all tracks.
    pub notes: usize,
    /// Lowest and highest pitch over pitched (non-drum) tracks; `null` without pitched notes.
    pub pitch_range: Option<PitchRange>,
    /// Key estimate over pitched tracks; `null` without pitched notes.
    pub key: Option<KeySummary>,
    /// The meter at the first bar and every bar where it changes.
    pub meters: Vec<MeterSummary>,
    /// The tempo at the start and every change of tempo before the song ends.
    pub tempos: Vec<TempoSummary>,
    pub tracks: Vec<TrackSummary>,
}

/// Lowest and highest MIDI pitch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PitchRange {
    pub lowest: u8,
    pub highest: u8,
}

/// A key estimate in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeySummary {
    /// Pitch class of the tonic, 0 = C.
    pub tonic: u8,
    /// "C", "F#", "Bb", …
    pub tonic_name: String,
    /// "major" or "minor".
    pub mode: String,
    /// Krumhansl–Schmuckler correlation, −1..=1 (higher: a clearer key).
    pub correlation: f64,
}

/// A meter and the bar (0-based) it starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterSummary {
    pub bar: usize,
    pub tick: u64,
    pub numerator: u8,
    pub denominator: u8,
}

/// A tempo and when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TempoSummary {
    pub tick: u64,
    pub seconds: f64,
    pub bpm: f64,
}

/// One track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackSummary {
    pub index: usize,
    pub name: String,
    /// "melody", "drums", "bass", … ([`TrackRole`](crate::TrackRole) in lower case).
    pub role: String,
    pub program: u8,
    pub channel: u8,
    pub is_drum: bool,
    pub notes: usize,
    /// `null` for a track without notes.
    pub lowest_pitch: Option<u8>,
    pub highest_pitch: Option<u8>,
}

impl SongSummary {
    /// Summarize `song`.
    pub fn of(song: &Song) -> SongSummary {
        let tpb = song.ticks_per_beat;
        let bars = song.bars();
        let end = bars.last().map_or(0, |bar| bar.end_tick());

        let mut meters: Vec<MeterSummary> = Vec::new();
        for (index, bar) in bars.iter().enumerate() {
            let same = meters
                .last()
                .is_some_and(|m| (m.numerator, m.denominator) == (bar.numerator, bar.denominator));
            if !same {
                meters.push(MeterSummary {
                    bar: index,
                    tick: bar.start_tick,
                    numerator: bar.numerator,
                    denominator: bar.denominator,
                });
            }
        }

        let mut tempos: Vec<TempoSummary> = Vec::new();
        for change in &song.tempos {
            if change.tick > 0 && change.tick >= end {
                break;
            }
            let bpm = change.bpm();
            if tempos.last().is_some_and(|t| t.bpm == bpm) {
                continue;
            }
            if tempos.last().is_some_and(|t| t.tick == change.tick) {
                tempos.pop();
            }
            tempos.push(TempoSummary {
                tick: change.tick,
                seconds: song.tick_to_seconds(change.tick),
                bpm,
            });
        }

        let tracks: Vec<TrackSummary> = song
            .tracks
            .iter()
            .enumerate()
            .map(|(index, track)| TrackSummary {
                index,
                name: track.name.clone(),
                role: track.role.to_string(),
                program: track.program,
                channel: track.channel,
                is_drum: track.is_drum,
                notes: track.notes.len(),
                lowest_pitch: track.notes.iter().map(|n| n.pitch).min(),
                highest_pitch: track.notes.iter().map(|n| n.pitch).max(),
            })
            .collect();
        let pitched = || tracks.iter().filter(|t| !t.is_drum);
        let pitch_range = pitched()
            .filter_map(|t| t.lowest_pitch)
            .min()
            .zip(pitched().filter_map(|t| t.highest_pitch).max())
            .map(|(lowest, highest)| PitchRange { lowest, highest });

        SongSummary {
            schema: SUMMARY_SCHEMA,
            ticks_per_beat: tpb,
            duration_seconds: song.duration_seconds(),
            bars: bars.len(),
            pickup_beats: song
                .pickup()
                .map(|pickup| pickup.ticks as f64 / f64::from(tpb.max(1))),
            notes: song.note_count(),
            pitch_range,
            key: song.estimate_key().map(|key: Key| KeySummary {
                tonic: key.tonic,
                tonic_name: key.tonic_name().to_string(),
                mode: key.mode.to_string(),
                correlation: key.correlation,
            }),
            meters,
            tempos,
            tracks,
        }
    }

    /// Steps per bar of the first meter on `grid`, a convenience for callers choosing windows.
    pub fn first_bar_steps(&self, grid: Grid) -> Option<u32> {
        let meter = self.meters.first()?;
        grid.steps_per_bar(meter.numerator, meter.denominator)
    }
}

/// Scientific pitch name: 60 = C4.
pub fn pitch_name(pitch: u8) -> String {
    const NAMES: [&str; 12] = [
        "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
    ];
    format!(
        "{}{}",
        NAMES[usize::from(pitch % 12)],
        i32::from(pitch / 12) - 1
    )
}

fn clock(seconds: f64) -> String {
    let minutes = (seconds / 60.0).floor();
    format!("{}:{:04.1}", minutes as u64, seconds - minutes * 60.0)
}

impl fmt::Display for SongSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "duration        {} ({:.1} s)",
            clock(self.duration_seconds),
            self.duration_seconds
        )?;
        write!(f, "bars            {}", self.bars)?;
        if let Some(beats) = self.pickup_beats {
            write!(f, " (pickup of {beats} beats)")?;
        }
        writeln!(f)?;
        let meters: Vec<String> = self
            .meters
            .iter()
            .map(|m| format!("{}/{} from bar {}", m.numerator, m.denominator, m.bar + 1))
            .collect();
        writeln!(f, "meter           {}", or_none(&meters.join(", ")))?;
        let mut tempos: Vec<String> = self
            .tempos
            .iter()
            .take(TABLE_TEMPO_ROWS)
            .map(|t| format!("{:.1} BPM at {}", t.bpm, clock(t.seconds)))
            .collect();
        if self.tempos.len() > TABLE_TEMPO_ROWS {
            tempos.push(format!("… {} more", self.tempos.len() - TABLE_TEMPO_ROWS));
        }
        writeln!(f, "tempo           {}", or_none(&tempos.join(", ")))?;
        match &self.key {
            Some(key) => writeln!(
                f,
                "key (estimate)  {} {} (correlation {:.2})",
                key.tonic_name, key.mode, key.correlation
            )?,
            None => writeln!(f, "key (estimate)  none (no pitched notes)")?,
        }
        match self.pitch_range {
            Some(range) => writeln!(
                f,
                "pitch range     {} ({}) – {} ({})",
                pitch_name(range.lowest),
                range.lowest,
                pitch_name(range.highest),
                range.highest
            )?,
            None => writeln!(f, "pitch range     none")?,
        }
        writeln!(f, "notes           {}", self.notes)?;
        writeln!(f, "ticks per beat  {}", self.ticks_per_beat)?;
        writeln!(f)?;
        let name_width = self
            .tracks
            .iter()
            .map(|t| t.name.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(4, 32);
        writeln!(
            f,
            "{:>3}  {:<name_width$}  {:<7}  {:>7}  {:>2}  {:>6}  range",
            "#", "name", "role", "program", "ch", "notes"
        )?;
        for track in &self.tracks {
            let name: String = track.name.chars().take(name_width).collect();
            let range = match (track.lowest_pitch, track.highest_pitch) {
                (Some(low), Some(high)) => format!("{}–{}", low, high),
                _ => "-".to_string(),
            };
            writeln!(
                f,
                "{:>3}  {:<name_width$}  {:<7}  {:>7}  {:>2}  {:>6}  {}",
                track.index,
                name,
                track.role,
                track.program,
                u32::from(track.channel) + 1,
                track.notes,
                range
            )?;
        }
        Ok(())
    }
}

fn or_none(text: &str) -> &str {
    if text.is_empty() { "none" } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::song::{Meter, Note, TempoChange, Track, TrackRole};

    fn sample() -> Song {
        let note = |pitch, start, duration| Note {
            pitch,
            velocity: 90,
            start,
            duration,
        };
        Song {
            ticks_per_beat: 480,
            tempos: vec![
                TempoChange {
                    tick: 0,
                    micros_per_beat: 500_000,
                },
                TempoChange {
                    tick: 1920,
                    micros_per_beat: 500_000,
                },
                TempoChange {
                    tick: 3840,
                    micros_per_beat: 600_000,
                },
                TempoChange {
                    tick: 100_000,
                    micros_per_beat: 400_000,
                },
            ],
            meters: vec![
                Meter {
                    tick: 0,
                    numerator: 4,
                    denominator: 4,
                },
                Meter {
                    tick: 3840,
                    numerator: 3,
                    denominator: 4,
                },
            ],
            key_signatures: vec![],
            tracks: vec![
                Track {
                    name: "Lead".into(),
                    program: 73,
                    channel: 0,
                    is_drum: false,
                    role: TrackRole::Melody,
                    notes: [67, 69, 71, 72, 74, 76, 78, 79, 74, 71, 67]
                        .iter()
                        .enumerate()
                        .map(|(i, &p)| note(p, i as u64 * 480, 480))
                        .collect(),
                },
                Track {
                    name: "Kit".into(),
                    program: 0,
                    channel: 9,
                    is_drum: true,
                    role: TrackRole::Drums,
                    notes: vec![note(36, 0, 100), note(100, 480, 100)],
                },
                Track {
                    name: "Empty".into(),
                    program: 48,
                    channel: 2,
                    is_drum: false,
                    role: TrackRole::Strings,
                    notes: vec![],
                },
            ],
            texts: vec![],
        }
    }

    #[test]
    fn summary_counts_what_the_song_holds() {
        let summary = SongSummary::of(&sample());
        assert_eq!(summary.notes, 13);
        // 11 beats: two bars of 4/4, then one bar of 3/4 (beats 9–11).
        assert_eq!(summary.bars, 3);
        assert_eq!(summary.meters.len(), 2);
        assert_eq!((summary.meters[1].bar, summary.meters[1].numerator), (2, 3));
        // The restated 120 BPM is not a change; the 100 BPM change after the end is left out.
        let bpms: Vec<_> = summary.tempos.iter().map(|t| t.bpm).collect();
        assert_eq!(bpms, vec![120.0, 100.0]);
        assert!((summary.tempos[1].seconds - 4.0).abs() < 1e-9);
        // 8 beats at 120 BPM + 3 beats at 100 BPM.
        assert!((summary.duration_seconds - (4.0 + 1.8)).abs() < 1e-9);
        assert_eq!(
            summary.pitch_range,
            Some(PitchRange {
                lowest: 67,
                highest: 79
            })
        );
        let key = summary.key.as_ref().unwrap();
        assert_eq!((key.tonic_name.as_str(), key.mode.as_str()), ("G", "major"));
        assert_eq!(summary.tracks[1].highest_pitch, Some(100));
        assert_eq!(summary.tracks[2].lowest_pitch, None);
        assert_eq!(summary.first_bar_steps(Grid::default()), Some(16));
    }

    #[test]
    fn json_has_the_documented_fields() {
        let json = serde_json::to_value(SongSummary::of(&sample())).unwrap();
        for field in [
            "schema",
            "ticks_per_beat",
            "duration_seconds",
            "bars",
            "pickup_beats",
            "notes",
            "pitch_range",
            "key",
            "meters",
            "tempos",
            "tracks",
        ] {
            assert!(json.get(field).is_some(), "missing {field}");
        }
        assert_eq!(json["schema"], 1);
        assert_eq!(json["key"]["tonic_name"], "G");
        assert_eq!(json["tracks"][1]["role"], "drums");
        assert_eq!(json["tracks"][2]["lowest_pitch"], serde_json::Value::Null);
        assert_eq!(json["meters"][1]["denominator"], 4);
    }

    #[test]
    fn table_reads_like_the_song() {
        let table = SongSummary::of(&sample()).to_string();
        assert!(table.contains("4/4 from bar 1, 3/4 from bar 3"), "{table}");
        assert!(table.contains("G major"), "{table}");
        assert!(table.contains("G4 (67) – G5 (79)"), "{table}");
        assert!(table.contains("drums"), "{table}");
        assert_eq!(pitch_name(60), "C4");
        assert_eq!(pitch_name(21), "A0");
        assert_eq!(clock(65.25), "1:05.2");
    }
}
