//! A chord track: which chord is in force at each step of a song's grid.
//!
//! Spans tile the steps from 0 with no gaps, each holding a [`Chord`] or `None` (N.C.). They are
//! laid out by [`HarmonicRhythm`] over the song's bars, given as their lengths in steps, so any
//! meter works: the bars of a 4/4, 3/4 or 6/8 song, a pickup bar, or a meter change are just
//! bars of other lengths.
//!
//! # JSON
//! `{"steps_per_beat": 4, "spans": [{"start": 0, "steps": 8, "chord": "C"}, ...]}`; a chord is
//! its symbol ([`crate::chord`]), no chord is `"N.C."`. The field names are part of the API and
//! of stored compositions: change them only with a migration.

use crate::chord::{Chord, NO_CHORD, parse_symbol};
use serde::{Deserialize, Serialize};

/// How often the chord may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum HarmonicRhythm {
    /// One span per bar.
    Bar,
    /// Two equal spans per bar when the bar holds an even number of quarter notes (4/4, 2/4,
    /// 2/2, 12/8); one span per bar otherwise (3/4, 6/8, 9/8), whose natural halves do not fall
    /// on a quarter-note beat.
    #[default]
    HalfBar,
    /// One span per quarter note; a bar that is not whole quarters ends with a shorter span.
    Beat,
}

impl HarmonicRhythm {
    /// `(start step, steps)` of every span over bars of the given lengths.
    pub fn spans(self, bar_steps: &[u32], steps_per_beat: u32) -> Vec<(u32, u32)> {
        let beat = steps_per_beat.max(1);
        let mut out = Vec::new();
        let mut at = 0u32;
        for &bar in bar_steps {
            match self {
                HarmonicRhythm::Bar => out.push((at, bar)),
                HarmonicRhythm::HalfBar => {
                    let even_beats = bar % (2 * beat) == 0 && bar >= 2 * beat;
                    if even_beats {
                        out.push((at, bar / 2));
                        out.push((at + bar / 2, bar / 2));
                    } else {
                        out.push((at, bar));
                    }
                }
                HarmonicRhythm::Beat => {
                    let mut step = 0;
                    while step < bar {
                        let steps = beat.min(bar - step);
                        out.push((at + step, steps));
                        step += steps;
                    }
                }
            }
            at += bar;
        }
        out.retain(|&(_, steps)| steps > 0);
        out
    }
}

/// One span of a chord track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChordSpan {
    /// First step.
    pub start: u32,
    /// Length in steps, at least 1.
    pub steps: u32,
    /// `None` = no chord (N.C.).
    #[serde(with = "span_symbol")]
    pub chord: Option<Chord>,
}

impl ChordSpan {
    /// The step after the span.
    pub fn end(&self) -> u32 {
        self.start + self.steps
    }
}

mod span_symbol {
    use super::*;

    pub fn serialize<S: serde::Serializer>(
        chord: &Option<Chord>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match chord {
            Some(chord) => serializer.collect_str(chord),
            None => serializer.serialize_str(NO_CHORD),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Chord>, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_symbol(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a chord track is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackError {
    #[error(
        "chord span {index} starts at step {start}, expected {expected} (spans must tile the steps from 0)"
    )]
    Gap {
        index: usize,
        start: u32,
        expected: u32,
    },
    #[error("chord span {index} is empty (0 steps)")]
    EmptySpan { index: usize },
    #[error("steps_per_beat must be at least 1")]
    NoGrid,
}

/// Chords over a song's grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChordTrack {
    /// The grid the spans count in.
    pub steps_per_beat: u32,
    /// In order, tiling the steps from 0.
    pub spans: Vec<ChordSpan>,
}

impl ChordTrack {
    /// A track from spans, checked to tile the steps from 0.
    pub fn new(steps_per_beat: u32, spans: Vec<ChordSpan>) -> Result<ChordTrack, TrackError> {
        let track = ChordTrack {
            steps_per_beat,
            spans,
        };
        track.validate()?;
        Ok(track)
    }

    /// One chord per span of `rhythm` over the bars: `chords[i]` for span `i`.
    pub fn from_chords(
        bar_steps: &[u32],
        steps_per_beat: u32,
        rhythm: HarmonicRhythm,
        chords: &[Option<Chord>],
    ) -> ChordTrack {
        let spans = rhythm
            .spans(bar_steps, steps_per_beat)
            .into_iter()
            .zip(chords)
            .map(|((start, steps), &chord)| ChordSpan {
                start,
                steps,
                chord,
            })
            .collect();
        ChordTrack {
            steps_per_beat,
            spans,
        }
        .merged()
    }

    /// Checks what [`ChordTrack::new`] promises; for tracks read from JSON.
    pub fn validate(&self) -> Result<(), TrackError> {
        if self.steps_per_beat == 0 {
            return Err(TrackError::NoGrid);
        }
        let mut expected = 0;
        for (index, span) in self.spans.iter().enumerate() {
            if span.steps == 0 {
                return Err(TrackError::EmptySpan { index });
            }
            if span.start != expected {
                return Err(TrackError::Gap {
                    index,
                    start: span.start,
                    expected,
                });
            }
            expected = span.end();
        }
        Ok(())
    }

    /// Steps covered.
    pub fn steps(&self) -> u32 {
        self.spans.last().map_or(0, ChordSpan::end)
    }

    /// The chord in force at `step` (`None` for N.C. or past the end).
    pub fn chord_at(&self, step: u32) -> Option<Chord> {
        let i = self.spans.partition_point(|s| s.end() <= step);
        self.spans
            .get(i)
            .filter(|s| s.start <= step)
            .and_then(|s| s.chord)
    }

    /// The chord in force at each of `steps` steps.
    pub fn per_step(&self, steps: usize) -> Vec<Option<Chord>> {
        let mut out = vec![None; steps];
        for span in &self.spans {
            let (a, b) = (span.start as usize, (span.end() as usize).min(steps));
            if a < b {
                out[a..b].fill(span.chord);
            }
        }
        out
    }

    /// Neighbouring spans with the same chord joined into one.
    pub fn merged(mut self) -> ChordTrack {
        let mut spans: Vec<ChordSpan> = Vec::with_capacity(self.spans.len());
        for span in self.spans.drain(..) {
            match spans.last_mut() {
                Some(last) if last.chord == span.chord && last.end() == span.start => {
                    last.steps += span.steps;
                }
                _ => spans.push(span),
            }
        }
        self.spans = spans;
        self
    }

    /// Every chord moved by `semitones`.
    pub fn transposed(&self, semitones: i32) -> ChordTrack {
        ChordTrack {
            steps_per_beat: self.steps_per_beat,
            spans: self
                .spans
                .iter()
                .map(|s| ChordSpan {
                    chord: s.chord.map(|c| c.transposed(semitones)),
                    ..*s
                })
                .collect(),
        }
    }

    /// The steps `[start, start + steps)` of this track as a track of their own starting at 0,
    /// spans cut at the edges (N.C. past the end).
    pub fn slice(&self, start: u32, steps: u32) -> ChordTrack {
        let end = start + steps;
        let mut spans = Vec::new();
        for span in &self.spans {
            let (a, b) = (span.start.max(start), span.end().min(end));
            if a < b {
                spans.push(ChordSpan {
                    start: a - start,
                    steps: b - a,
                    chord: span.chord,
                });
            }
        }
        let covered = spans.last().map_or(0, ChordSpan::end);
        if covered < steps {
            spans.push(ChordSpan {
                start: covered,
                steps: steps - covered,
                chord: None,
            });
        }
        ChordTrack {
            steps_per_beat: self.steps_per_beat,
            spans,
        }
        .merged()
    }

    /// The chords in order, one per span (after merging, a chord per change).
    pub fn chords(&self) -> impl Iterator<Item = Option<Chord>> + '_ {
        self.spans.iter().map(|s| s.chord)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chord::Quality;

    #[test]
    fn rhythms_over_any_meter() {
        // 4/4, 3/4, 6/8 and a 1-beat pickup at 4 steps per beat.
        let bars = [4, 16, 12, 12];
        assert_eq!(
            HarmonicRhythm::HalfBar.spans(&bars, 4),
            vec![(0, 4), (4, 8), (12, 8), (20, 12), (32, 12)]
        );
        assert_eq!(HarmonicRhythm::Bar.spans(&bars, 4).len(), 4);
        let beats = HarmonicRhythm::Beat.spans(&[16, 6], 4);
        assert_eq!(
            beats,
            vec![(0, 4), (4, 4), (8, 4), (12, 4), (16, 4), (20, 2)]
        );
    }

    #[test]
    fn tracks_tile_merge_and_slice() {
        let c = Some(Chord::new(0, Quality::Major));
        let g = Some(Chord::new(7, Quality::Dominant7));
        let track =
            ChordTrack::from_chords(&[16, 16], 4, HarmonicRhythm::HalfBar, &[c, c, g, None]);
        assert_eq!(track.spans.len(), 3, "the two C halves merge");
        assert_eq!(track.chord_at(15), c);
        assert_eq!(track.chord_at(16), g);
        assert_eq!(track.chord_at(30), None);
        assert_eq!(track.chord_at(99), None);
        assert_eq!(track.steps(), 32);
        let slice = track.slice(12, 8);
        assert_eq!(slice.per_step(8), [vec![c; 4], vec![g; 4]].concat());
        let past = track.slice(28, 8);
        assert_eq!(past.spans.len(), 1);
        assert_eq!(past.steps(), 8);
        assert_eq!(
            track.transposed(2).chord_at(0),
            Some(Chord::new(2, Quality::Major))
        );
    }

    #[test]
    fn json_round_trip_and_validation() {
        let track = ChordTrack::new(
            4,
            vec![
                ChordSpan {
                    start: 0,
                    steps: 8,
                    chord: Some(Chord::new(9, Quality::Minor)),
                },
                ChordSpan {
                    start: 8,
                    steps: 8,
                    chord: None,
                },
            ],
        )
        .unwrap();
        let json = serde_json::to_string(&track).unwrap();
        assert_eq!(
            json,
            r#"{"steps_per_beat":4,"spans":[{"start":0,"steps":8,"chord":"Am"},{"start":8,"steps":8,"chord":"N.C."}]}"#
        );
        let back: ChordTrack = serde_json::from_str(&json).unwrap();
        assert_eq!(back, track);
        let gap = r#"{"steps_per_beat":4,"spans":[{"start":2,"steps":8,"chord":"C"}]}"#;
        let read: ChordTrack = serde_json::from_str(gap).unwrap();
        assert!(matches!(read.validate(), Err(TrackError::Gap { .. })));
        let bad = r#"{"steps_per_beat":4,"spans":[{"start":0,"steps":8,"chord":"Cx"}]}"#;
        let err = serde_json::from_str::<ChordTrack>(bad).unwrap_err();
        assert!(err.to_string().contains("Cx"), "{err}");
    }
}
