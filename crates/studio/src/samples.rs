//! Sample melodies shipped with the product, so the console has something to arrange before the
//! user plays a note. All are public-domain tunes, transcribed here by hand as (pitch, beats)
//! lists; they cover the meters the models must handle (4/4, 3/4, 6/8).

use serde::Serialize;
use utoipa::ToSchema;

use crate::melody::{MeterJson, NoteJson};

/// One shipped melody.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sample {
    /// Stable id used by `POST /api/melodies {"sample": id}`.
    pub id: &'static str,
    pub name: &'static str,
    pub composer: &'static str,
    pub tempo_bpm: f64,
    pub meter: MeterJson,
    pub bars: u32,
    pub notes: Vec<NoteJson>,
}

/// A rest in a tune list.
const R: u8 = 0;

// MIDI pitches by name (octave 4 = middle C).
const G3: u8 = 55;
const C4: u8 = 60;
const D4: u8 = 62;
const E4: u8 = 64;
const F4: u8 = 65;
const FS4: u8 = 66;
const G4: u8 = 67;
const GS4: u8 = 68;
const A4: u8 = 69;
const B4: u8 = 71;
const C5: u8 = 72;
const D5: u8 = 74;
const E5: u8 = 76;
const F5: u8 = 77;

struct Tune {
    id: &'static str,
    name: &'static str,
    composer: &'static str,
    tempo_bpm: f64,
    meter: (u8, u8),
    /// Beats before the first note (a pickup starts late in bar 1).
    offset: f64,
    /// (pitch or rest, length in quarter-note beats).
    notes: &'static [(u8, f64)],
}

const TWINKLE: &[(u8, f64)] = &[
    (C4, 1.),
    (C4, 1.),
    (G4, 1.),
    (G4, 1.),
    (A4, 1.),
    (A4, 1.),
    (G4, 2.),
    (F4, 1.),
    (F4, 1.),
    (E4, 1.),
    (E4, 1.),
    (D4, 1.),
    (D4, 1.),
    (C4, 2.),
    (G4, 1.),
    (G4, 1.),
    (F4, 1.),
    (F4, 1.),
    (E4, 1.),
    (E4, 1.),
    (D4, 2.),
    (G4, 1.),
    (G4, 1.),
    (F4, 1.),
    (F4, 1.),
    (E4, 1.),
    (E4, 1.),
    (D4, 2.),
    (C4, 1.),
    (C4, 1.),
    (G4, 1.),
    (G4, 1.),
    (A4, 1.),
    (A4, 1.),
    (G4, 2.),
    (F4, 1.),
    (F4, 1.),
    (E4, 1.),
    (E4, 1.),
    (D4, 1.),
    (D4, 1.),
    (C4, 2.),
];

const ODE_TO_JOY: &[(u8, f64)] = &[
    (E4, 1.),
    (E4, 1.),
    (F4, 1.),
    (G4, 1.),
    (G4, 1.),
    (F4, 1.),
    (E4, 1.),
    (D4, 1.),
    (C4, 1.),
    (C4, 1.),
    (D4, 1.),
    (E4, 1.),
    (E4, 1.5),
    (D4, 0.5),
    (D4, 2.),
    (E4, 1.),
    (E4, 1.),
    (F4, 1.),
    (G4, 1.),
    (G4, 1.),
    (F4, 1.),
    (E4, 1.),
    (D4, 1.),
    (C4, 1.),
    (C4, 1.),
    (D4, 1.),
    (E4, 1.),
    (D4, 1.5),
    (C4, 0.5),
    (C4, 2.),
];

const FRERE_JACQUES: &[(u8, f64)] = &[
    (C4, 1.),
    (D4, 1.),
    (E4, 1.),
    (C4, 1.),
    (C4, 1.),
    (D4, 1.),
    (E4, 1.),
    (C4, 1.),
    (E4, 1.),
    (F4, 1.),
    (G4, 2.),
    (E4, 1.),
    (F4, 1.),
    (G4, 2.),
    (G4, 0.5),
    (A4, 0.5),
    (G4, 0.5),
    (F4, 0.5),
    (E4, 1.),
    (C4, 1.),
    (G4, 0.5),
    (A4, 0.5),
    (G4, 0.5),
    (F4, 0.5),
    (E4, 1.),
    (C4, 1.),
    (C4, 1.),
    (G3, 1.),
    (C4, 2.),
    (C4, 1.),
    (G3, 1.),
    (C4, 2.),
];

// 3/4 with a one-beat pickup (the tune starts on beat 3).
const AMAZING_GRACE: &[(u8, f64)] = &[
    (D4, 1.),
    (G4, 2.),
    (B4, 0.5),
    (G4, 0.5),
    (B4, 2.),
    (A4, 1.),
    (G4, 2.),
    (E4, 1.),
    (D4, 2.),
    (D4, 1.),
    (G4, 2.),
    (B4, 0.5),
    (G4, 0.5),
    (B4, 2.),
    (A4, 1.),
    (D5, 3.),
    (R, 2.),
    (B4, 1.),
    (D5, 1.5),
    (B4, 0.5),
    (D5, 0.5),
    (B4, 0.5),
    (G4, 2.),
    (D4, 1.),
    (E4, 1.5),
    (G4, 0.5),
    (G4, 0.5),
    (E4, 0.5),
    (D4, 2.),
    (D4, 1.),
    (G4, 2.),
    (B4, 0.5),
    (G4, 0.5),
    (B4, 2.),
    (A4, 1.),
    (G4, 3.),
];

// 6/8 (three quarter-note beats a bar) with an eighth-note pickup.
const GREENSLEEVES: &[(u8, f64)] = &[
    (A4, 0.5),
    (C5, 1.),
    (D5, 0.5),
    (E5, 0.75),
    (F5, 0.25),
    (E5, 0.5),
    (D5, 1.),
    (B4, 0.5),
    (G4, 0.75),
    (A4, 0.25),
    (B4, 0.5),
    (C5, 1.),
    (A4, 0.5),
    (A4, 0.75),
    (GS4, 0.25),
    (A4, 0.5),
    (B4, 1.),
    (GS4, 0.5),
    (E4, 1.),
    (A4, 0.5),
    (C5, 1.),
    (D5, 0.5),
    (E5, 0.75),
    (F5, 0.25),
    (E5, 0.5),
    (D5, 1.),
    (B4, 0.5),
    (G4, 0.75),
    (A4, 0.25),
    (B4, 0.5),
    (C5, 0.75),
    (B4, 0.25),
    (A4, 0.5),
    (GS4, 0.75),
    (FS4, 0.25),
    (GS4, 0.5),
    (A4, 1.5),
    (A4, 1.5),
];

// 6/8.
const ROW_YOUR_BOAT: &[(u8, f64)] = &[
    (C4, 1.5),
    (C4, 1.5),
    (C4, 1.),
    (D4, 0.5),
    (E4, 1.5),
    (E4, 1.),
    (D4, 0.5),
    (E4, 1.),
    (F4, 0.5),
    (G4, 3.),
    (C5, 0.5),
    (C5, 0.5),
    (C5, 0.5),
    (G4, 0.5),
    (G4, 0.5),
    (G4, 0.5),
    (E4, 0.5),
    (E4, 0.5),
    (E4, 0.5),
    (C4, 0.5),
    (C4, 0.5),
    (C4, 0.5),
    (G4, 1.),
    (F4, 0.5),
    (E4, 1.),
    (D4, 0.5),
    (C4, 3.),
];

const TUNES: &[Tune] = &[
    Tune {
        id: "twinkle",
        name: "Twinkle Twinkle Little Star",
        composer: "traditional",
        tempo_bpm: 100.0,
        meter: (4, 4),
        offset: 0.0,
        notes: TWINKLE,
    },
    Tune {
        id: "ode_to_joy",
        name: "Ode to Joy",
        composer: "Ludwig van Beethoven",
        tempo_bpm: 110.0,
        meter: (4, 4),
        offset: 0.0,
        notes: ODE_TO_JOY,
    },
    Tune {
        id: "frere_jacques",
        name: "Frère Jacques",
        composer: "traditional",
        tempo_bpm: 110.0,
        meter: (4, 4),
        offset: 0.0,
        notes: FRERE_JACQUES,
    },
    Tune {
        id: "amazing_grace",
        name: "Amazing Grace",
        composer: "traditional (John Newton)",
        tempo_bpm: 80.0,
        meter: (3, 4),
        offset: 2.0,
        notes: AMAZING_GRACE,
    },
    Tune {
        id: "greensleeves",
        name: "Greensleeves",
        composer: "traditional",
        tempo_bpm: 90.0,
        meter: (6, 8),
        offset: 2.5,
        notes: GREENSLEEVES,
    },
    Tune {
        id: "row_your_boat",
        name: "Row, Row, Row Your Boat",
        composer: "traditional",
        tempo_bpm: 100.0,
        meter: (6, 8),
        offset: 0.0,
        notes: ROW_YOUR_BOAT,
    },
];

fn build(t: &Tune) -> Sample {
    let mut at = t.offset;
    let mut notes = Vec::new();
    for &(pitch, beats) in t.notes {
        if pitch != R {
            notes.push(NoteJson {
                pitch,
                velocity: Some(90),
                start_beats: at,
                // A little air between repeated notes, as a player would leave.
                duration_beats: beats * 0.9,
            });
        }
        at += beats;
    }
    let meter = MeterJson {
        numerator: t.meter.0,
        denominator: t.meter.1,
    };
    let bars = (at / meter.beats_per_bar() - 1e-9).ceil() as u32;
    Sample {
        id: t.id,
        name: t.name,
        composer: t.composer,
        tempo_bpm: t.tempo_bpm,
        meter,
        bars,
        notes,
    }
}

impl Sample {
    /// The sample as a one-track melody song, as `POST /api/melodies {"sample": id}` stores it.
    pub fn to_song(&self) -> orchestrion_music::Song {
        let melody = crate::melody::NotesMelody {
            name: Some(self.name.to_string()),
            tempo_bpm: self.tempo_bpm,
            meter: self.meter,
            notes: self.notes.clone(),
        };
        crate::melody::song_from_notes(&melody, &crate::Limits::default())
            .expect("shipped samples are valid melodies (tested)")
    }
}

/// Every shipped sample.
pub fn all() -> Vec<Sample> {
    TUNES.iter().map(build).collect()
}

/// One sample by id.
pub fn find(id: &str) -> Option<Sample> {
    TUNES.iter().find(|t| t.id == id).map(build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tune_fills_whole_bars() {
        // A transcription slip shows up as a tune that does not end on a bar line.
        for t in TUNES {
            let total: f64 = t.offset + t.notes.iter().map(|n| n.1).sum::<f64>();
            let bar = f64::from(t.meter.0) * 4.0 / f64::from(t.meter.1);
            assert!(
                (total / bar - (total / bar).round()).abs() < 1e-9,
                "{} is {total} beats, not whole bars of {bar}",
                t.id
            );
        }
    }

    #[test]
    fn samples_cover_three_meters_and_are_valid_melodies() {
        let all = all();
        assert!(all.len() >= 6);
        for m in [(4, 4), (3, 4), (6, 8)] {
            assert!(
                all.iter()
                    .any(|s| (s.meter.numerator, s.meter.denominator) == m)
            );
        }
        for s in &all {
            let input = crate::melody::NotesMelody {
                name: Some(s.name.into()),
                tempo_bpm: s.tempo_bpm,
                meter: s.meter,
                notes: s.notes.clone(),
            };
            let song = crate::melody::song_from_notes(&input, &Default::default()).unwrap();
            assert_eq!(crate::melody::summarize(&song).bars, s.bars, "{}", s.id);
        }
        assert_eq!(find("twinkle").unwrap().bars, 12);
        assert!(find("nope").is_none());
    }
}
