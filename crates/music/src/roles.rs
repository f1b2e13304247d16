//! Which part a track plays (melody, bass, drums, ...), guessed from what a MIDI file says about
//! it: channel 10, the track name, and the General MIDI program family.
//!
//! The reader runs [`detect_role`] on every track. It is a guess: a dataset recipe that knows
//! better (e.g. "track 0 is the melody") simply assigns `track.role` afterwards.

use crate::song::TrackRole;
use std::fmt;
use std::str::FromStr;

impl TrackRole {
    /// Every role, in a fixed order (the order roll planes and model outputs use).
    pub const ALL: [TrackRole; 10] = [
        TrackRole::Melody,
        TrackRole::Drums,
        TrackRole::Bass,
        TrackRole::Piano,
        TrackRole::Guitar,
        TrackRole::Strings,
        TrackRole::Pad,
        TrackRole::Brass,
        TrackRole::Reed,
        TrackRole::Other,
    ];

    /// Lower-case name, as used in recipes, JSON and CLI flags.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackRole::Melody => "melody",
            TrackRole::Drums => "drums",
            TrackRole::Bass => "bass",
            TrackRole::Piano => "piano",
            TrackRole::Guitar => "guitar",
            TrackRole::Strings => "strings",
            TrackRole::Pad => "pad",
            TrackRole::Brass => "brass",
            TrackRole::Reed => "reed",
            TrackRole::Other => "other",
        }
    }

    /// The General MIDI program (0-based) written for a generated part of this role.
    /// For drums the program selects the kit on channel 10 (0 = standard kit).
    pub fn default_program(self) -> u8 {
        match self {
            TrackRole::Melody => 0,   // Acoustic Grand Piano: neutral for any melody
            TrackRole::Drums => 0,    // Standard kit
            TrackRole::Bass => 33,    // Electric Bass (finger)
            TrackRole::Piano => 0,    // Acoustic Grand Piano
            TrackRole::Guitar => 25,  // Acoustic Guitar (steel)
            TrackRole::Strings => 48, // String Ensemble 1
            TrackRole::Pad => 89,     // Pad 2 (warm)
            TrackRole::Brass => 61,   // Brass Section
            TrackRole::Reed => 65,    // Alto Sax
            TrackRole::Other => 0,
        }
    }
}

impl fmt::Display for TrackRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`TrackRole::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown track role {0:?} (expected one of: melody, drums, bass, piano, guitar, strings, pad, brass, reed, other)"
)]
pub struct UnknownRole(pub String);

impl FromStr for TrackRole {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim();
        TrackRole::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownRole(text.to_string()))
    }
}

/// Name keywords, checked in this order; the first match decides. Order matters: "bassoon" and
/// "english horn" must be seen before "bass" and "horn", "lead guitar" is a melody, and "alto
/// sax" is a reed while a bare "alto" is an inner choir voice.
const NAME_RULES: &[(TrackRole, &[&str])] = &[
    (
        TrackRole::Melody,
        &[
            "melod", "lead", "voice", "vocal", "vox", "soprano", "sing", "solo", "theme", "tune",
            "canto", "chant",
        ],
    ),
    (
        TrackRole::Drums,
        &[
            "drum",
            "perc",
            "kit",
            "snare",
            "hihat",
            "hi-hat",
            "cymbal",
            "batter",
            "schlagzeug",
            "conga",
            "bongo",
            "tabla",
        ],
    ),
    (
        TrackRole::Reed,
        &[
            "bassoon",
            "fagott",
            "english horn",
            "cor anglais",
            "bass clarinet",
            "sax",
            "clarinet",
            "oboe",
            "flute",
            "flauto",
            "piccolo",
            "recorder",
            "reed",
            "woodwind",
            "harmonica",
        ],
    ),
    (
        TrackRole::Bass,
        &["bass", "basso", "bajo", "contrabass", "kontrabass"],
    ),
    (
        TrackRole::Piano,
        &[
            "piano",
            "keys",
            "keyboard",
            "organ",
            "rhodes",
            "wurli",
            "clav",
            "harpsichord",
            "cembalo",
            "chord",
            "accomp",
            "celesta",
            "vibra",
            "marimba",
        ],
    ),
    (
        TrackRole::Guitar,
        &[
            "guitar", "gtr", "git", "banjo", "mandolin", "ukulele", "lute", "harp",
        ],
    ),
    (
        TrackRole::Strings,
        &[
            "violin", "viola", "cello", "string", "fiddle", "violino", "geige",
        ],
    ),
    (
        TrackRole::Brass,
        &[
            "trumpet", "trombone", "horn", "tuba", "brass", "flugel", "cornet", "tromba",
        ],
    ),
    (
        TrackRole::Pad,
        &["pad", "choir", "aah", "ooh", "atmos", "ambient"],
    ),
    (TrackRole::Other, &["alto", "tenor", "baritone"]),
];

/// Guess a track's role from its name, its General MIDI program (0-based) and whether it plays on
/// the drum channel (channel 10).
///
/// Channel 10 always means [`TrackRole::Drums`]. Otherwise the name decides when it contains a
/// known word (any language the corpora use); failing that, the program family does.
pub fn detect_role(name: &str, program: u8, is_drum: bool) -> TrackRole {
    if is_drum {
        return TrackRole::Drums;
    }
    role_from_name(name).unwrap_or_else(|| role_from_program(program))
}

/// The role a track name implies, if any word in it is known.
pub fn role_from_name(name: &str) -> Option<TrackRole> {
    let lower = name.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphabetic())
        .filter(|word| !word.is_empty())
        .collect();
    NAME_RULES.iter().find_map(|(role, keywords)| {
        let found = keywords.iter().any(|keyword| {
            if keyword.len() >= 4 {
                // Long keywords are specific enough to match inside compounds ("Synthbass").
                lower.contains(keyword)
            } else {
                // Short ones ("vox", "kit", "git") must start a word, or "digital" is a guitar.
                words.iter().any(|word| word.starts_with(keyword))
            }
        });
        found.then_some(*role)
    })
}

/// The role a General MIDI program family (0-based program number) implies.
pub fn role_from_program(program: u8) -> TrackRole {
    match program {
        0..=7 => TrackRole::Piano,     // pianos
        8..=15 => TrackRole::Piano,    // chromatic percussion: celesta, vibraphone, marimba...
        16..=23 => TrackRole::Piano,   // organs (keys / comping)
        24..=31 => TrackRole::Guitar,  // guitars
        32..=39 => TrackRole::Bass,    // basses
        40..=45 => TrackRole::Strings, // solo strings and tremolo/pizzicato
        46 => TrackRole::Guitar,       // orchestral harp: plucked
        47 => TrackRole::Other,        // timpani
        48..=51 => TrackRole::Strings, // string ensembles
        52..=54 => TrackRole::Pad,     // choir, voice oohs, synth voice
        55 => TrackRole::Other,        // orchestra hit
        56..=63 => TrackRole::Brass,   // brass
        64..=79 => TrackRole::Reed,    // reeds and pipes (woodwinds)
        80..=87 => TrackRole::Melody,  // synth leads
        88..=103 => TrackRole::Pad,    // synth pads and effects
        _ => TrackRole::Other,         // ethnic, percussive, sound effects
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_ten_is_always_drums() {
        assert_eq!(detect_role("Melody", 0, true), TrackRole::Drums);
    }

    #[test]
    fn names_from_the_corpora() {
        let cases = [
            ("MELODY", TrackRole::Melody),
            ("Melody", TrackRole::Melody),
            ("Voice", TrackRole::Melody),
            ("Soprano", TrackRole::Melody),
            ("Lead Guitar", TrackRole::Melody),
            ("PIANO", TrackRole::Piano),
            ("Piano upper staff", TrackRole::Piano),
            ("Violin 1", TrackRole::Strings),
            ("Viola", TrackRole::Strings),
            ("Violoncello", TrackRole::Strings),
            ("Bass", TrackRole::Bass),
            ("Synthbass", TrackRole::Bass),
            ("Bassoon", TrackRole::Reed),
            ("Alto Sax", TrackRole::Reed),
            ("English Horn", TrackRole::Reed),
            ("French Horn", TrackRole::Brass),
            ("Drums", TrackRole::Drums),
            ("Bass Drum", TrackRole::Drums),
            ("Acoustic Guitar", TrackRole::Guitar),
            ("Strings", TrackRole::Strings),
            ("Warm Pad", TrackRole::Pad),
            ("Alto", TrackRole::Other),
            ("Tenor", TrackRole::Other),
        ];
        for (name, role) in cases {
            assert_eq!(detect_role(name, 0, false), role, "{name}");
        }
    }

    #[test]
    fn short_keywords_need_a_word_start() {
        assert_eq!(role_from_name("Digital"), None);
        assert_eq!(role_from_name("Gtr. 2"), Some(TrackRole::Guitar));
    }

    #[test]
    fn unknown_names_fall_back_to_program_family() {
        assert_eq!(detect_role("Track 3", 33, false), TrackRole::Bass);
        assert_eq!(detect_role("", 26, false), TrackRole::Guitar);
        assert_eq!(detect_role("", 41, false), TrackRole::Strings);
        assert_eq!(detect_role("", 57, false), TrackRole::Brass);
        assert_eq!(detect_role("", 66, false), TrackRole::Reed);
        assert_eq!(detect_role("", 81, false), TrackRole::Melody);
        assert_eq!(detect_role("", 90, false), TrackRole::Pad);
        assert_eq!(detect_role("", 0, false), TrackRole::Piano);
        assert_eq!(detect_role("", 127, false), TrackRole::Other);
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in TrackRole::ALL {
            assert_eq!(role.as_str().parse::<TrackRole>().unwrap(), role);
            assert_eq!(
                role.to_string()
                    .to_uppercase()
                    .parse::<TrackRole>()
                    .unwrap(),
                role
            );
        }
        assert!("kazoo".parse::<TrackRole>().is_err());
    }

    #[test]
    fn default_programs_detect_back_to_their_role() {
        for role in TrackRole::ALL {
            if matches!(
                role,
                TrackRole::Melody | TrackRole::Drums | TrackRole::Other
            ) {
                continue;
            }
            assert_eq!(role_from_program(role.default_program()), role, "{role}");
        }
    }
}
