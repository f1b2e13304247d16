//! In-scale rate: the share of notes that belong to the song's scale. Measured against the
//! best-fitting major or minor scale of the music itself, so a piece in E♭ minor is not punished
//! for not being in C major (as MuseGAN's fixed C-major mask would).
//!
//! Source: the "scale consistency" of Mogren, "C-RNN-GAN: Continuous recurrent neural networks
//! with adversarial training", NeurIPS Constructive Machine Learning workshop 2016, also
//! muspy's `scale_consistency` (the best of the 24 major/natural-minor scales); MuseGAN (Dong et
//! al., AAAI 2018) reports the same ratio against C major only.

use crate::view::TrackView;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Pitch classes of the major scale from its tonic (bit `c` set when `c` semitones above).
const MAJOR: u16 = 0b1010_1011_0101;
/// Pitch classes of the natural minor scale from its tonic.
const MINOR: u16 = 0b0101_1010_1101;

/// A major or natural-minor scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scale {
    /// Pitch class of the tonic, 0 (C) to 11 (B).
    pub tonic: u8,
    /// Natural minor rather than major.
    pub minor: bool,
}

impl Scale {
    /// The 12-bit mask of the scale's pitch classes (bit `c` for pitch class `c`).
    pub fn mask(self) -> u16 {
        let base = if self.minor { MINOR } else { MAJOR };
        let t = self.tonic as u32 % 12;
        ((base << t) | (base >> (12 - t))) & 0xfff
    }

    /// Whether MIDI pitch `pitch` belongs to the scale.
    pub fn contains(self, pitch: u8) -> bool {
        self.mask() >> (pitch % 12) & 1 == 1
    }

    /// All 24 scales, majors first, tonics from C.
    pub fn all() -> impl Iterator<Item = Scale> {
        [false, true]
            .into_iter()
            .flat_map(|minor| (0..12).map(move |tonic| Scale { tonic, minor }))
    }
}

/// The scale of an estimated key (e.g. `Key::estimate` over a whole song), for
/// [`crate::evaluate_in_scale`].
impl From<orchestrion_music::Key> for Scale {
    fn from(key: orchestrion_music::Key) -> Scale {
        Scale {
            tonic: key.tonic % 12,
            minor: key.mode == orchestrion_music::Mode::Minor,
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 12] = [
            "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
        ];
        let mode = if self.minor { "minor" } else { "major" };
        write!(f, "{} {mode}", NAMES[self.tonic as usize % 12])
    }
}

/// Count of notes per pitch class over the given views.
pub fn pitch_class_histogram<'a>(views: impl IntoIterator<Item = &'a TrackView>) -> [u64; 12] {
    let mut histogram = [0u64; 12];
    for view in views {
        for note in &view.notes {
            histogram[note.pitch as usize % 12] += 1;
        }
    }
    histogram
}

/// Notes of `histogram` inside `scale`.
fn in_scale_count(histogram: &[u64; 12], scale: Scale) -> u64 {
    let mask = scale.mask();
    (0..12)
        .filter(|&c| mask >> c & 1 == 1)
        .map(|c| histogram[c])
        .sum()
}

/// The scale holding the most notes of `histogram`. A major scale and its relative minor always
/// tie, so ties go to the scale whose tonic has more notes, then to major, then to the lower
/// tonic. `None` without notes.
pub fn best_scale(histogram: &[u64; 12]) -> Option<Scale> {
    if histogram.iter().all(|&n| n == 0) {
        return None;
    }
    Scale::all().max_by_key(|&scale| {
        (
            in_scale_count(histogram, scale),
            histogram[scale.tonic as usize],
            !scale.minor,
            std::cmp::Reverse(scale.tonic),
        )
    })
}

/// The largest share of notes inside any one of the 24 scales (muspy's scale consistency).
/// `None` without notes.
pub fn scale_consistency(histogram: &[u64; 12]) -> Option<f64> {
    let scale = best_scale(histogram)?;
    let total: u64 = histogram.iter().sum();
    Some(in_scale_count(histogram, scale) as f64 / total as f64)
}

/// Share of the view's notes inside `scale`. `None` without notes.
pub fn in_scale_rate(view: &TrackView, scale: Scale) -> Option<f64> {
    if view.notes.is_empty() {
        return None;
    }
    let inside = view
        .notes
        .iter()
        .filter(|n| scale.contains(n.pitch))
        .count();
    Some(inside as f64 / view.notes.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::GridNote;
    use orchestrion_music::TrackRole;

    fn view(pitches: &[u8]) -> TrackView {
        let notes = pitches
            .iter()
            .enumerate()
            .map(|(i, &pitch)| GridNote {
                start: i,
                pitch,
                len: 1,
            })
            .collect();
        TrackView::from_notes(TrackRole::Melody, false, 4, &[64], notes)
    }

    #[test]
    fn scale_masks() {
        let c_major = Scale {
            tonic: 0,
            minor: false,
        };
        assert_eq!(c_major.mask(), 0b1010_1011_0101);
        // A minor has the same notes as C major.
        assert_eq!(
            Scale {
                tonic: 9,
                minor: true
            }
            .mask(),
            c_major.mask()
        );
        // G major: C D E F# G A B.
        let g = Scale {
            tonic: 7,
            minor: false,
        };
        assert!(g.contains(66) && !g.contains(65));
        assert_eq!(g.to_string(), "G major");
        let key = orchestrion_music::Key {
            tonic: 9,
            mode: orchestrion_music::Mode::Minor,
            correlation: 0.8,
        };
        assert_eq!(
            Scale::from(key),
            Scale {
                tonic: 9,
                minor: true
            }
        );
    }

    #[test]
    fn best_scale_of_an_e_flat_minor_line() {
        // Eb minor: Eb F Gb Ab Bb Cb Db, tonic Eb repeated.
        let v = view(&[63, 65, 66, 68, 70, 71, 73, 63, 63, 75]);
        let hist = pitch_class_histogram([&v]);
        let scale = best_scale(&hist).unwrap();
        assert_eq!(
            scale,
            Scale {
                tonic: 3,
                minor: true
            }
        );
        assert_eq!(in_scale_rate(&v, scale), Some(1.0));
        // Against C major only F (65) and Cb = B (71) fit: 2 of 10.
        assert_eq!(
            in_scale_rate(
                &v,
                Scale {
                    tonic: 0,
                    minor: false
                }
            ),
            Some(0.2)
        );
    }

    #[test]
    fn consistency_counts_the_best_scale() {
        // C D E F G A B plus one C#: 7 of 8 in C major.
        let v = view(&[60, 62, 64, 65, 67, 69, 71, 61]);
        let hist = pitch_class_histogram([&v]);
        assert_eq!(scale_consistency(&hist), Some(7.0 / 8.0));
        assert_eq!(best_scale(&[0; 12]), None);
        assert_eq!(
            in_scale_rate(
                &view(&[]),
                Scale {
                    tonic: 0,
                    minor: false
                }
            ),
            None
        );
    }
}
