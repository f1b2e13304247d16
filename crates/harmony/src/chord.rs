//! One chord: a root, a quality and an optional bass note, read from and written as the symbols
//! musicians write on lead sheets (`F#m7`, `G/B`, `Bbmaj7`, `N.C.`).
//!
//! # Symbols
//! A symbol is a root (`A`–`G`, then any number of `#`/`♯` or `b`/`♭`), a quality suffix and an
//! optional `/bass`. [`Chord`]'s `Display` writes one canonical spelling (sharps for C♯ and F♯,
//! flats for E♭, A♭ and B♭, the suffixes of [`Quality::suffix`]); parsing also takes the usual
//! aliases (`min`, `-`, `M7`, `Δ7`, `ø`, `°`, `+`, ...). `N.C.` (no chord) is not a [`Chord`]: a
//! span without harmony holds `None`, and [`parse_symbol`] / [`symbol`] handle both.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A pitch class, 0 = C … 11 = B.
pub type PitchClass = u8;

/// How a pitch class is written in a chord symbol: the spelling most lead sheets use in the
/// common keys.
pub const PITCH_CLASS_NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

/// The symbol of "no chord".
pub const NO_CHORD: &str = "N.C.";

/// The kind of a chord, as intervals above its root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quality {
    Major,
    Minor,
    Dominant7,
    Major7,
    Minor7,
    Diminished,
    HalfDiminished,
    Diminished7,
    Augmented,
    Sus2,
    Sus4,
    Major6,
    Minor6,
}

impl Quality {
    /// Every quality, in declaration order.
    pub const ALL: [Quality; 13] = [
        Quality::Major,
        Quality::Minor,
        Quality::Dominant7,
        Quality::Major7,
        Quality::Minor7,
        Quality::Diminished,
        Quality::HalfDiminished,
        Quality::Diminished7,
        Quality::Augmented,
        Quality::Sus2,
        Quality::Sus4,
        Quality::Major6,
        Quality::Minor6,
    ];

    /// The qualities that [`crate::recognize`] and the [`crate::Harmonizer`] choose among. The
    /// others are spelled alike by pitch classes (C6 = Am7, Cdim7 = E♭dim7 = …, Csus2 = Gsus4)
    /// and so cannot be told apart from what is played; a user may still write them.
    pub const RECOGNIZED: [Quality; 9] = [
        Quality::Major,
        Quality::Minor,
        Quality::Dominant7,
        Quality::Major7,
        Quality::Minor7,
        Quality::Diminished,
        Quality::HalfDiminished,
        Quality::Augmented,
        Quality::Sus4,
    ];

    /// Semitones above the root, root first.
    pub fn intervals(self) -> &'static [u8] {
        match self {
            Quality::Major => &[0, 4, 7],
            Quality::Minor => &[0, 3, 7],
            Quality::Dominant7 => &[0, 4, 7, 10],
            Quality::Major7 => &[0, 4, 7, 11],
            Quality::Minor7 => &[0, 3, 7, 10],
            Quality::Diminished => &[0, 3, 6],
            Quality::HalfDiminished => &[0, 3, 6, 10],
            Quality::Diminished7 => &[0, 3, 6, 9],
            Quality::Augmented => &[0, 4, 8],
            Quality::Sus2 => &[0, 2, 7],
            Quality::Sus4 => &[0, 5, 7],
            Quality::Major6 => &[0, 4, 7, 9],
            Quality::Minor6 => &[0, 3, 7, 9],
        }
    }

    /// The canonical suffix written after the root.
    pub fn suffix(self) -> &'static str {
        match self {
            Quality::Major => "",
            Quality::Minor => "m",
            Quality::Dominant7 => "7",
            Quality::Major7 => "maj7",
            Quality::Minor7 => "m7",
            Quality::Diminished => "dim",
            Quality::HalfDiminished => "m7b5",
            Quality::Diminished7 => "dim7",
            Quality::Augmented => "aug",
            Quality::Sus2 => "sus2",
            Quality::Sus4 => "sus4",
            Quality::Major6 => "6",
            Quality::Minor6 => "m6",
        }
    }

    /// The quality a suffix names, aliases included.
    fn from_suffix(suffix: &str) -> Option<Quality> {
        Some(match suffix {
            "" | "maj" | "M" | "major" => Quality::Major,
            "m" | "min" | "mi" | "-" | "minor" => Quality::Minor,
            "7" | "dom7" => Quality::Dominant7,
            "maj7" | "M7" | "Maj7" | "Δ" | "Δ7" | "ma7" => Quality::Major7,
            "m7" | "min7" | "mi7" | "-7" => Quality::Minor7,
            "dim" | "°" | "o" => Quality::Diminished,
            "m7b5" | "m7♭5" | "ø" | "ø7" | "-7b5" | "min7b5" => Quality::HalfDiminished,
            "dim7" | "°7" | "o7" => Quality::Diminished7,
            "aug" | "+" | "#5" => Quality::Augmented,
            "sus2" => Quality::Sus2,
            "sus4" | "sus" => Quality::Sus4,
            "6" | "maj6" | "M6" => Quality::Major6,
            "m6" | "min6" | "-6" => Quality::Minor6,
            _ => return None,
        })
    }
}

/// A chord: its root, its quality, and the bass note when it is not the root (`G/B`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Chord {
    pub root: PitchClass,
    pub quality: Quality,
    /// `Some` only for a bass other than the root (parsing `C/C` gives `None`).
    pub bass: Option<PitchClass>,
}

impl Chord {
    /// A chord in root position. `root` is taken modulo 12.
    pub fn new(root: PitchClass, quality: Quality) -> Chord {
        Chord {
            root: root % 12,
            quality,
            bass: None,
        }
    }

    /// This chord over `bass` (modulo 12); a bass equal to the root means root position.
    pub fn over(self, bass: PitchClass) -> Chord {
        let bass = bass % 12;
        Chord {
            bass: (bass != self.root).then_some(bass),
            ..self
        }
    }

    /// The lowest pitch class: the bass if one is written, else the root.
    pub fn bass_pitch_class(&self) -> PitchClass {
        self.bass.unwrap_or(self.root)
    }

    /// Pitch classes of the chord, root first (the bass is not added when it is not a chord
    /// tone: `C/D` is still C, E, G over a D).
    pub fn pitch_classes(&self) -> impl Iterator<Item = PitchClass> + '_ {
        self.quality
            .intervals()
            .iter()
            .map(move |&i| (self.root + i) % 12)
    }

    /// Whether pitch class `pc` (any integer, taken modulo 12) is one of the chord's tones.
    pub fn contains(&self, pc: i32) -> bool {
        let pc = pc.rem_euclid(12) as u8;
        self.pitch_classes().any(|p| p == pc)
    }

    /// A 12-bit mask of the chord tones (bit 0 = C).
    pub fn mask(&self) -> u16 {
        self.pitch_classes().fold(0, |m, p| m | (1 << p))
    }

    /// The same chord moved by `semitones` (bass too).
    pub fn transposed(&self, semitones: i32) -> Chord {
        let shift = |p: PitchClass| (i32::from(p) + semitones).rem_euclid(12) as PitchClass;
        Chord {
            root: shift(self.root),
            quality: self.quality,
            bass: self.bass.map(shift),
        }
    }

    /// Root and quality only: what chord accuracy compares.
    pub fn without_bass(&self) -> Chord {
        Chord {
            bass: None,
            ..*self
        }
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}",
            PITCH_CLASS_NAMES[usize::from(self.root % 12)],
            self.quality.suffix()
        )?;
        if let Some(bass) = self.bass {
            write!(f, "/{}", PITCH_CLASS_NAMES[usize::from(bass % 12)])?;
        }
        Ok(())
    }
}

/// Why a chord symbol could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    #[error("empty chord symbol")]
    Empty,
    #[error("chord symbol {symbol:?} does not start with a note name A-G")]
    BadRoot { symbol: String },
    #[error(
        "chord symbol {symbol:?}: unknown quality {suffix:?} (write e.g. C, Cm, C7, Cmaj7, Cm7, \
         Cdim, Cm7b5, Cdim7, Caug, Csus2, Csus4, C6, Cm6)"
    )]
    BadQuality { symbol: String, suffix: String },
    #[error("chord symbol {symbol:?}: the bass after '/' must be a note name A-G")]
    BadBass { symbol: String },
}

/// A note name at the start of `text` (`C`, `F#`, `Bb`, `E♭`): its pitch class and the bytes it
/// took.
fn note_name(text: &str) -> Option<(PitchClass, usize)> {
    let mut chars = text.char_indices();
    let (_, letter) = chars.next()?;
    let natural: i32 = match letter {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let mut pc = natural;
    let mut end = letter.len_utf8();
    for (at, c) in chars {
        match c {
            '#' | '♯' => pc += 1,
            'b' | '♭' => pc -= 1,
            _ => break,
        }
        end = at + c.len_utf8();
    }
    Some((pc.rem_euclid(12) as PitchClass, end))
}

impl FromStr for Chord {
    type Err = SymbolError;

    fn from_str(symbol: &str) -> Result<Chord, SymbolError> {
        let text = symbol.trim();
        if text.is_empty() {
            return Err(SymbolError::Empty);
        }
        let (root, used) = note_name(text).ok_or_else(|| SymbolError::BadRoot {
            symbol: symbol.to_string(),
        })?;
        let rest = &text[used..];
        let (suffix, bass) = match rest.split_once('/') {
            Some((suffix, bass)) => (suffix, Some(bass)),
            None => (rest, None),
        };
        let quality = Quality::from_suffix(suffix).ok_or_else(|| SymbolError::BadQuality {
            symbol: symbol.to_string(),
            suffix: suffix.to_string(),
        })?;
        let mut chord = Chord::new(root, quality);
        if let Some(bass) = bass {
            match note_name(bass) {
                Some((pc, used)) if used == bass.len() => chord = chord.over(pc),
                _ => {
                    return Err(SymbolError::BadBass {
                        symbol: symbol.to_string(),
                    });
                }
            }
        }
        Ok(chord)
    }
}

/// A span's harmony from its symbol: `N.C.` (also `NC`, `N.C`) is `None`.
pub fn parse_symbol(symbol: &str) -> Result<Option<Chord>, SymbolError> {
    match symbol.trim() {
        "N.C." | "NC" | "N.C" | "nc" | "n.c." => Ok(None),
        other => other.parse().map(Some),
    }
}

/// The symbol of a span's harmony: the chord's, or `N.C.` for none.
pub fn symbol(chord: Option<&Chord>) -> String {
    chord.map_or_else(|| NO_CHORD.to_string(), Chord::to_string)
}

/// Chords serialize as their symbols, so the JSON a user reads is the chart they would write.
impl Serialize for Chord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Chord {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Chord, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn symbols_parse_to_the_chords_they_name() {
        let cases = [
            ("C", Chord::new(0, Quality::Major)),
            ("F#m7", Chord::new(6, Quality::Minor7)),
            ("Bbmaj7", Chord::new(10, Quality::Major7)),
            ("G/B", Chord::new(7, Quality::Major).over(11)),
            ("Ebm7b5", Chord::new(3, Quality::HalfDiminished)),
            ("Bø", Chord::new(11, Quality::HalfDiminished)),
            ("C#dim", Chord::new(1, Quality::Diminished)),
            ("Ab+", Chord::new(8, Quality::Augmented)),
            ("Dsus", Chord::new(2, Quality::Sus4)),
            ("E-7", Chord::new(4, Quality::Minor7)),
            ("Cb", Chord::new(11, Quality::Major)),
            ("C/C", Chord::new(0, Quality::Major)),
        ];
        for (text, chord) in cases {
            assert_eq!(text.parse::<Chord>(), Ok(chord), "{text}");
        }
        assert_eq!(parse_symbol("N.C."), Ok(None));
        assert_eq!(symbol(None), "N.C.");
        assert_eq!(
            Chord::new(7, Quality::Dominant7).over(11).to_string(),
            "G7/B"
        );
    }

    #[test]
    fn bad_symbols_say_what_is_wrong() {
        assert_eq!("".parse::<Chord>(), Err(SymbolError::Empty));
        assert!(matches!(
            "H7".parse::<Chord>(),
            Err(SymbolError::BadRoot { .. })
        ));
        let err = "Cmaj13#11".parse::<Chord>().unwrap_err();
        assert!(err.to_string().contains("\"maj13#11\""), "{err}");
        assert!(matches!(
            "C/X".parse::<Chord>(),
            Err(SymbolError::BadBass { .. })
        ));
        assert!(matches!(
            "C/Bm".parse::<Chord>(),
            Err(SymbolError::BadBass { .. })
        ));
    }

    #[test]
    fn tones_and_transposition() {
        let g7 = Chord::new(7, Quality::Dominant7);
        assert_eq!(g7.pitch_classes().collect::<Vec<_>>(), vec![7, 11, 2, 5]);
        assert!(g7.contains(-1), "B is -1 mod 12");
        assert!(!g7.contains(0));
        assert_eq!(g7.transposed(-7), Chord::new(0, Quality::Dominant7));
        let inverted = Chord::new(0, Quality::Major).over(4).transposed(2);
        assert_eq!(inverted.to_string(), "D/F#");
    }

    #[test]
    fn json_is_the_symbol() {
        let chord = Chord::new(6, Quality::Minor7).over(4);
        let json = serde_json::to_string(&chord).unwrap();
        assert_eq!(json, "\"F#m7/E\"");
        assert_eq!(serde_json::from_str::<Chord>(&json).unwrap(), chord);
        assert!(serde_json::from_str::<Chord>("\"Q\"").is_err());
    }

    fn any_chord() -> impl Strategy<Value = Chord> {
        (
            0u8..12,
            0usize..Quality::ALL.len(),
            proptest::option::of(0u8..12),
        )
            .prop_map(|(root, q, bass)| {
                let chord = Chord::new(root, Quality::ALL[q]);
                bass.map_or(chord, |b| chord.over(b))
            })
    }

    proptest! {
        #[test]
        fn print_then_parse_is_the_identity(chord in any_chord()) {
            let text = chord.to_string();
            prop_assert_eq!(text.parse::<Chord>(), Ok(chord));
            prop_assert_eq!(parse_symbol(&text), Ok(Some(chord)));
        }
    }
}
