//! Key estimation: which major or minor key a piece is in, from the notes themselves (key
//! signature events are often missing or wrong in real MIDI files).
//!
//! The method is Krumhansl–Schmuckler (Krumhansl 1990, *Cognitive Foundations of Musical
//! Pitch*): build a duration-weighted pitch-class histogram (drums excluded), correlate it
//! (Pearson) with the Krumhansl–Kessler probe-tone profile of each of the 24 keys, and take the
//! best. The metrics crate uses the estimated key's scale for the in-scale rate.

use crate::song::Song;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Krumhansl–Kessler major-key profile, tonic first.
const MAJOR_PROFILE: [f64; 12] = [
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
];
/// Krumhansl–Kessler minor-key profile, tonic first.
const MINOR_PROFILE: [f64; 12] = [
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
];

const MAJOR_SCALE: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
/// Natural minor (Aeolian).
const MINOR_SCALE: [u8; 7] = [0, 2, 3, 5, 7, 8, 10];

/// Tonic names as usually spelled in major keys (D♭ major, not C♯ major).
const MAJOR_TONIC_NAMES: [&str; 12] = [
    "C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];
/// Tonic names as usually spelled in minor keys (C♯ minor, G♯ minor).
const MINOR_TONIC_NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B",
];

/// Major or minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Major,
    Minor,
}

impl Mode {
    /// `"major"` or `"minor"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Major => "major",
            Mode::Minor => "minor",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Weight of each pitch class (0 = C), e.g. sounding time.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PitchClassHistogram(pub [f64; 12]);

impl PitchClassHistogram {
    /// Duration-weighted (in ticks) histogram of a song's pitched tracks.
    pub fn of_song(song: &Song) -> PitchClassHistogram {
        let mut weights = [0.0; 12];
        for track in song.tracks.iter().filter(|track| !track.is_drum) {
            for note in &track.notes {
                weights[usize::from(note.pitch % 12)] += note.duration.max(1) as f64;
            }
        }
        PitchClassHistogram(weights)
    }

    /// Sum of all weights.
    pub fn total(&self) -> f64 {
        self.0.iter().sum()
    }
}

/// An estimated key.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Key {
    /// Pitch class of the tonic, 0 = C … 11 = B.
    pub tonic: u8,
    pub mode: Mode,
    /// Pearson correlation of the histogram with this key's profile (−1..=1); higher means a
    /// clearer key.
    pub correlation: f64,
}

impl Key {
    /// The best of the 24 major and minor keys for `histogram`, or `None` when it is empty or
    /// flat (every pitch class equally heavy: no key to find). Ties go to the first key in the
    /// order C major, C minor, D♭ major, … so that the result is deterministic.
    pub fn estimate(histogram: &PitchClassHistogram) -> Option<Key> {
        let mut best: Option<Key> = None;
        for tonic in 0..12u8 {
            for (mode, profile) in [(Mode::Major, &MAJOR_PROFILE), (Mode::Minor, &MINOR_PROFILE)] {
                let rotated: [f64; 12] =
                    std::array::from_fn(|pc| profile[(pc + 12 - usize::from(tonic)) % 12]);
                let correlation = pearson(&histogram.0, &rotated)?;
                if best.is_none_or(|key| correlation > key.correlation) {
                    best = Some(Key {
                        tonic,
                        mode,
                        correlation,
                    });
                }
            }
        }
        best
    }

    /// The seven pitch classes of this key's scale (natural minor for minor keys), ascending
    /// from the tonic.
    pub fn scale_pitch_classes(&self) -> [u8; 7] {
        let steps = match self.mode {
            Mode::Major => MAJOR_SCALE,
            Mode::Minor => MINOR_SCALE,
        };
        steps.map(|step| (self.tonic + step) % 12)
    }

    /// Whether MIDI pitch `pitch` belongs to the key's scale.
    pub fn contains(&self, pitch: u8) -> bool {
        self.scale_pitch_classes().contains(&(pitch % 12))
    }

    /// The tonic's name ("C", "F#", "Bb", …), spelled as usual for the mode.
    pub fn tonic_name(&self) -> &'static str {
        let names = match self.mode {
            Mode::Major => &MAJOR_TONIC_NAMES,
            Mode::Minor => &MINOR_TONIC_NAMES,
        };
        names[usize::from(self.tonic % 12)]
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.tonic_name(), self.mode)
    }
}

/// Pearson correlation, `None` when either side has no variance.
fn pearson(a: &[f64; 12], b: &[f64; 12]) -> Option<f64> {
    let mean_a = a.iter().sum::<f64>() / 12.0;
    let mean_b = b.iter().sum::<f64>() / 12.0;
    let (mut cov, mut var_a, mut var_b) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - mean_a) * (y - mean_b);
        var_a += (x - mean_a).powi(2);
        var_b += (y - mean_b).powi(2);
    }
    let denominator = (var_a * var_b).sqrt();
    (denominator > 0.0 && denominator.is_finite()).then(|| cov / denominator)
}

impl Song {
    /// The song's key by Krumhansl–Schmuckler over its pitched tracks; `None` without pitched
    /// notes.
    pub fn estimate_key(&self) -> Option<Key> {
        Key::estimate(&PitchClassHistogram::of_song(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::song::{Note, Track, TrackRole};

    fn song_of(pitches_and_lengths: &[(u8, u64)], drums: &[u8]) -> Song {
        let mut start = 0;
        let notes = pitches_and_lengths
            .iter()
            .map(|&(pitch, duration)| {
                let note = Note {
                    pitch,
                    velocity: 80,
                    start,
                    duration,
                };
                start += duration;
                note
            })
            .collect();
        let drum_notes = drums
            .iter()
            .map(|&pitch| Note {
                pitch,
                velocity: 80,
                start: 0,
                duration: 100_000,
            })
            .collect();
        let track = |name: &str, is_drum, notes| Track {
            name: name.into(),
            program: 0,
            channel: if is_drum { 9 } else { 0 },
            is_drum,
            role: if is_drum {
                TrackRole::Drums
            } else {
                TrackRole::Melody
            },
            notes,
        };
        Song {
            ticks_per_beat: 480,
            tempos: vec![],
            meters: vec![],
            key_signatures: vec![],
            tracks: vec![track("lead", false, notes), track("kit", true, drum_notes)],
            texts: vec![],
        }
    }

    #[test]
    fn scales_find_their_keys() {
        // A G major scale with the tonic triad held longer.
        let g_major = [
            (67, 960),
            (69, 480),
            (71, 960),
            (72, 480),
            (74, 960),
            (76, 480),
            (78, 480),
            (79, 960),
        ];
        // Drum notes on pitch classes far from G major must not sway it.
        let key = song_of(&g_major, &[37, 39, 44]).estimate_key().unwrap();
        assert_eq!((key.tonic, key.mode), (7, Mode::Major));
        assert_eq!(key.to_string(), "G major");
        assert!(key.correlation > 0.7, "{}", key.correlation);
        // A harmonic A minor line.
        let a_minor = [
            (69, 960),
            (71, 480),
            (72, 960),
            (74, 480),
            (76, 960),
            (77, 480),
            (80, 240),
            (81, 960),
            (64, 960),
        ];
        let key = song_of(&a_minor, &[]).estimate_key().unwrap();
        assert_eq!(key.to_string(), "A minor");
    }

    #[test]
    fn every_transposition_of_a_profile_is_recognised() {
        for tonic in 0..12u8 {
            for (mode, profile) in [(Mode::Major, MAJOR_PROFILE), (Mode::Minor, MINOR_PROFILE)] {
                let histogram = PitchClassHistogram(std::array::from_fn(|pc| {
                    profile[(pc + 12 - usize::from(tonic)) % 12]
                }));
                let key = Key::estimate(&histogram).unwrap();
                assert_eq!((key.tonic, key.mode), (tonic, mode));
                assert!((key.correlation - 1.0).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn no_key_without_pitched_notes_or_with_a_flat_histogram() {
        assert_eq!(song_of(&[], &[36, 38]).estimate_key(), None);
        assert_eq!(Key::estimate(&PitchClassHistogram([1.0; 12])), None);
    }

    #[test]
    fn scale_pitch_classes_and_names() {
        let d_major = Key {
            tonic: 2,
            mode: Mode::Major,
            correlation: 1.0,
        };
        assert_eq!(d_major.scale_pitch_classes(), [2, 4, 6, 7, 9, 11, 1]);
        assert!(d_major.contains(61) && !d_major.contains(60));
        let c_sharp_minor = Key {
            tonic: 1,
            mode: Mode::Minor,
            correlation: 1.0,
        };
        assert_eq!(c_sharp_minor.scale_pitch_classes(), [1, 3, 4, 6, 8, 9, 11]);
        assert_eq!(c_sharp_minor.to_string(), "C# minor");
        assert_eq!(
            Key {
                tonic: 1,
                mode: Mode::Major,
                correlation: 1.0
            }
            .to_string(),
            "Db major"
        );
    }
}
