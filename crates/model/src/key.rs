//! One key for the networks: a melody is moved to C major (or A minor) before the generator
//! sees it, and the parts it writes are moved back.
//!
//! Why: a generator that reads pitch rows as channels has no built-in notion that a tune in D
//! is the same tune as in C. Trained on twelve keys at once it learned one favourite set of
//! pitch classes and played them under every melody (measured: pop piano on A♯ whatever the
//! key). Normalizing the key makes the arrangement follow a transposition of the melody exactly,
//! by construction, and lets all the training data teach harmony in one key.
//!
//! The key is estimated from the melody alone — the only part known at generation time — with
//! the Krumhansl–Kessler key profiles: the duration-weighted pitch-class histogram is correlated
//! with each of the 24 rotated profiles and the best one wins. Training uses the same estimate on
//! each window's melody, so the networks see exactly what generation will show them.

use crate::data::GridNote;

/// Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
const MAJOR_PROFILE: [f64; 12] = [
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
];
const MINOR_PROFILE: [f64; 12] = [
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
];

/// A key: tonic pitch class (0 = C) and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub tonic: u8,
    pub minor: bool,
}

impl Key {
    /// The semitones that move this key to C major (or A minor, its relative), in `-5..=6` so
    /// that no part moves more than half an octave.
    pub fn shift_to_c(self) -> i32 {
        // A minor shares C major's pitch classes: normalize the relative major's tonic.
        let major_tonic = if self.minor {
            (self.tonic as i32 + 3) % 12
        } else {
            self.tonic as i32
        };
        let shift = (12 - major_tonic) % 12;
        if shift > 6 { shift - 12 } else { shift }
    }
}

/// Duration-weighted pitch classes of the melody notes (role 0) in `notes`.
fn pitch_class_weights(notes: &[GridNote]) -> [f64; 12] {
    let mut weights = [0.0; 12];
    for note in notes.iter().filter(|n| n.role == 0) {
        weights[note.pitch as usize % 12] += f64::from(note.duration.max(1));
    }
    weights
}

fn correlation(a: &[f64; 12], b: &[f64; 12]) -> f64 {
    let mean_a = a.iter().sum::<f64>() / 12.0;
    let mean_b = b.iter().sum::<f64>() / 12.0;
    let (mut cov, mut var_a, mut var_b) = (0.0, 0.0, 0.0);
    for i in 0..12 {
        cov += (a[i] - mean_a) * (b[i] - mean_b);
        var_a += (a[i] - mean_a).powi(2);
        var_b += (b[i] - mean_b).powi(2);
    }
    if var_a <= 0.0 || var_b <= 0.0 {
        return 0.0;
    }
    cov / (var_a * var_b).sqrt()
}

/// The melody's key, or `None` when it has no notes or a single pitch class (nothing to weigh).
pub fn estimate(notes: &[GridNote]) -> Option<Key> {
    let weights = pitch_class_weights(notes);
    if weights.iter().filter(|&&w| w > 0.0).count() < 2 {
        return None;
    }
    let mut best: Option<(f64, Key)> = None;
    // Ties go to the first key tried (C major, C minor, C♯ major, ...): deterministic, and a
    // transposed melody meets the same tie rotated, which only matters for degenerate input.
    for tonic in 0..12u8 {
        for (minor, profile) in [(false, &MAJOR_PROFILE), (true, &MINOR_PROFILE)] {
            let rotated: [f64; 12] =
                std::array::from_fn(|pc| profile[(pc + 12 - tonic as usize) % 12]);
            let r = correlation(&weights, &rotated);
            if best.is_none_or(|(b, _)| r > b) {
                best = Some((r, Key { tonic, minor }));
            }
        }
    }
    best.map(|(_, key)| key)
}

/// The transposition (semitones) that puts the melody in C major / A minor; 0 when no key can
/// be told.
pub fn shift_to_c(notes: &[GridNote]) -> i32 {
    estimate(notes).map_or(0, Key::shift_to_c)
}

/// `notes` with every pitched note (every role for which `is_drum` is false) moved by `shift`
/// semitones; notes that would leave MIDI's range are dropped.
pub fn transpose(notes: &[GridNote], shift: i32, is_drum: impl Fn(usize) -> bool) -> Vec<GridNote> {
    notes
        .iter()
        .filter_map(|n| {
            if is_drum(n.role) {
                return Some(*n);
            }
            let pitch = n.pitch as i32 + shift;
            (0..=127).contains(&pitch).then_some(GridNote {
                pitch: pitch as u8,
                ..*n
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn melody(pitches: &[(u8, u32)]) -> Vec<GridNote> {
        let mut start = 0;
        pitches
            .iter()
            .map(|&(pitch, duration)| {
                let note = GridNote {
                    role: 0,
                    pitch,
                    velocity: 90,
                    start,
                    duration,
                };
                start += duration;
                note
            })
            .collect()
    }

    /// "Ode to Joy", first phrase, in C major.
    fn ode_to_joy() -> Vec<GridNote> {
        melody(&[
            (64, 4),
            (64, 4),
            (65, 4),
            (67, 4),
            (67, 4),
            (65, 4),
            (64, 4),
            (62, 4),
            (60, 4),
            (60, 4),
            (62, 4),
            (64, 4),
            (64, 6),
            (62, 2),
            (62, 8),
            (60, 16),
        ])
    }

    #[test]
    fn a_c_major_tune_is_c_major_and_needs_no_shift() {
        assert_eq!(
            estimate(&ode_to_joy()),
            Some(Key {
                tonic: 0,
                minor: false
            })
        );
        assert_eq!(shift_to_c(&ode_to_joy()), 0);
    }

    #[test]
    fn the_shift_undoes_any_transposition() {
        let tune = ode_to_joy();
        for k in -6..=6 {
            let moved = transpose(&tune, k, |_| false);
            let shift = shift_to_c(&moved);
            assert_eq!(
                (k + shift).rem_euclid(12),
                0,
                "transposed by {k}: shift {shift}"
            );
            assert!((-5..=6).contains(&shift));
        }
    }

    #[test]
    fn a_minor_tune_goes_to_a_minor() {
        // E G B A G F♯ E B E: an E minor phrase.
        let tune = melody(&[
            (64, 8),
            (67, 4),
            (71, 4),
            (69, 4),
            (67, 4),
            (66, 4),
            (64, 8),
            (59, 4),
            (64, 12),
        ]);
        let key = estimate(&tune).expect("a key");
        assert_eq!(
            key,
            Key {
                tonic: 4,
                minor: true
            }
        );
        // E minor → A minor: 5 semitones up rather than 7 down.
        assert_eq!(key.shift_to_c(), 5);
    }

    #[test]
    fn no_key_without_two_pitch_classes() {
        assert_eq!(estimate(&[]), None);
        assert_eq!(estimate(&melody(&[(60, 4), (72, 4)])), None);
        assert_eq!(shift_to_c(&[]), 0);
    }

    #[test]
    fn drums_stay_and_notes_leaving_midi_are_dropped() {
        let notes = vec![
            GridNote {
                role: 1,
                pitch: 36,
                velocity: 90,
                start: 0,
                duration: 1,
            },
            GridNote {
                role: 0,
                pitch: 126,
                velocity: 90,
                start: 0,
                duration: 1,
            },
        ];
        let moved = transpose(&notes, 3, |r| r == 1);
        assert_eq!(moved.len(), 1);
        assert_eq!(moved[0].pitch, 36);
    }
}
