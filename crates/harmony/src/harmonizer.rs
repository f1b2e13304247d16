//! Chords for a bare melody: a hidden Markov model per genre, and the two baselines it must beat.
//!
//! The hidden states are the recognized vocabulary's chords ([`crate::recognize::vocabulary`]
//! without N.C.); one state per span of the harmonic rhythm. What the model learns, from the
//! chords recognized in a genre's accompaniment and the melody above them:
//! - where songs start and how chords follow each other (transition counts smoothed towards how
//!   common each chord is), which carries the genre's progressions and its harmonic rhythm
//!   (staying is a transition too);
//! - which melody pitch classes sound over each chord quality, as intervals above the root (so
//!   that what a G7 teaches about its third also holds for a D7): the emission.
//!
//! A span's emission is the log-probability of the melody's pitch classes, weighted by how long
//! they sound and by where they start (downbeats and beats count more than off-beats), scaled to
//! [`Harmonizer::melody_weight`] observations per span, chosen at fitting time on held-back
//! training songs. Decoding is Viterbi: deterministic, no randomness, microseconds per bar.
//!
//! The harmonizer works in whatever key its examples were in: the model crate fits and runs it
//! in C major / A minor, the space its networks work in.

use crate::chord::{Chord, Quality};
use crate::recognize::{Chroma, Recognizer, viterbi, vocabulary, vocabulary_index};
use crate::track::{ChordTrack, HarmonicRhythm};
use orchestrion_music::{Key, Mode, PitchClassHistogram, StepNote};
use serde::{Deserialize, Serialize};

/// Version of the stored form; bumped when a field's meaning changes.
pub const FORMAT: u32 = 1;

/// One song (or window) to learn from: its melody, its bars and the chord of each span of the
/// harmonic rhythm over them (`None` where the accompaniment is silent).
#[derive(Debug, Clone, PartialEq)]
pub struct HarmonyExample {
    pub melody: Vec<StepNote>,
    pub bar_steps: Vec<u32>,
    pub steps_per_beat: u32,
    pub chords: Vec<Option<Chord>>,
}

/// The fitted model; stored as `harmonizer.json` in a model folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Harmonizer {
    pub format: u32,
    /// The spans it proposes chords for.
    pub rhythm: HarmonicRhythm,
    /// The states, in order (every recognized chord).
    pub chords: Vec<Chord>,
    /// `log P(first chord)`.
    pub log_start: Vec<f32>,
    /// `log P(next | previous)`, rows = previous.
    pub log_transition: Vec<Vec<f32>>,
    /// Per quality of [`Quality::RECOGNIZED`]: `log P(melody pitch class = root + i)`, i = 0..12.
    pub log_tone: Vec<[f32; 12]>,
    /// How many observations a span's melody counts as.
    pub melody_weight: f32,
    /// Spans with a chord that it learned from.
    pub spans_learned: usize,
}

/// Why a harmonizer cannot be fitted or read.
#[derive(Debug, thiserror::Error)]
pub enum HarmonizerError {
    #[error("no span with both a melody and a recognized chord to learn from")]
    NoData,
    #[error("harmonizer format {found} is not supported (this build reads format {FORMAT})")]
    Format { found: u32 },
    #[error("harmonizer has {found} {what}, expected {expected}")]
    Shape {
        what: &'static str,
        found: usize,
        expected: usize,
    },
}

/// Duration-weighted melody pitch classes per span, with onsets on downbeats counting double and
/// on beats half again: what a listener hears as the span's harmony notes.
fn melody_weights(
    melody: &[StepNote],
    bar_steps: &[u32],
    steps_per_beat: u32,
    spans: &[(u32, u32)],
) -> Vec<[f32; 12]> {
    let mut downbeats = Vec::with_capacity(bar_steps.len());
    let mut at = 0u64;
    for &b in bar_steps {
        downbeats.push(at);
        at += u64::from(b);
    }
    let beat = u64::from(steps_per_beat.max(1));
    let accent = |step: u64| -> f32 {
        let bar = downbeats.partition_point(|&d| d <= step).saturating_sub(1);
        let offset = step - downbeats.get(bar).copied().unwrap_or(0);
        if offset == 0 {
            2.0
        } else if offset.is_multiple_of(beat) {
            1.5
        } else {
            1.0
        }
    };
    spans
        .iter()
        .map(|&(start, steps)| {
            let (a, b) = (u64::from(start), u64::from(start + steps));
            let mut w = [0.0f32; 12];
            for note in melody {
                let (s, e) = (note.start_step.max(a), note.end_step().min(b));
                if s < e {
                    // A note held into the span counts as heard on the span's start.
                    w[usize::from(note.pitch % 12)] += (e - s) as f32 * accent(s);
                }
            }
            w
        })
        .collect()
}

fn log_normalize(counts: &[f32]) -> Vec<f32> {
    let total: f32 = counts.iter().sum();
    counts.iter().map(|&c| (c / total).ln()).collect()
}

impl Harmonizer {
    /// Fit on examples: the counts on all of them, the melody weight on the last fifth held back
    /// from a first fit on the rest.
    pub fn fit(
        examples: &[HarmonyExample],
        rhythm: HarmonicRhythm,
    ) -> Result<Harmonizer, HarmonizerError> {
        let held = examples.len() / 5;
        let (train, check) = examples.split_at(examples.len() - held);
        let mut model = Harmonizer::count(if train.is_empty() { examples } else { train }, rhythm)?;
        if !check.is_empty() {
            let mut best = (f32::NEG_INFINITY, model.melody_weight);
            for weight in [0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0] {
                model.melody_weight = weight;
                let accuracy = Accuracy::of_examples(check, |e| model.propose(e));
                if accuracy.chord_rate() > best.0 {
                    best = (accuracy.chord_rate(), weight);
                }
            }
            let weight = best.1;
            model = Harmonizer::count(examples, rhythm)?;
            model.melody_weight = weight;
        }
        Ok(model)
    }

    /// The smoothed counts of `examples`, melody weight 3.
    fn count(
        examples: &[HarmonyExample],
        rhythm: HarmonicRhythm,
    ) -> Result<Harmonizer, HarmonizerError> {
        let chords: Vec<Chord> = vocabulary().into_iter().flatten().collect();
        let n = chords.len();
        let q = Quality::RECOGNIZED.len();
        let mut start = vec![0.0f32; n];
        let mut unigram = vec![0.0f32; n];
        let mut transition = vec![vec![0.0f32; n]; n];
        let mut tone = vec![[0.0f32; 12]; q];
        let mut learned = 0;
        for example in examples {
            let spans = rhythm.spans(&example.bar_steps, example.steps_per_beat);
            let weights = melody_weights(
                &example.melody,
                &example.bar_steps,
                example.steps_per_beat,
                &spans,
            );
            let mut previous: Option<usize> = None;
            for (i, chord) in example.chords.iter().enumerate().take(spans.len()) {
                let Some(chord) = chord else {
                    previous = None;
                    continue;
                };
                let state = vocabulary_index(Some(*chord));
                unigram[state] += 1.0;
                match previous {
                    None => start[state] += 1.0,
                    Some(p) => transition[p][state] += 1.0,
                }
                previous = Some(state);
                let quality = state / 12;
                let total: f32 = weights[i].iter().sum();
                if total > 0.0 {
                    learned += 1;
                    for (pc, &w) in weights[i].iter().enumerate() {
                        let interval = (pc + 12 - usize::from(chords[state].root)) % 12;
                        tone[quality][interval] += w / total;
                    }
                }
            }
        }
        if learned == 0 {
            return Err(HarmonizerError::NoData);
        }
        // Chords never seen keep a little mass, so a melody that really asks for one can get it.
        let prior: Vec<f32> = unigram.iter().map(|&c| c + 0.1).collect();
        let prior_total: f32 = prior.iter().sum();
        let prior: Vec<f32> = prior.iter().map(|&c| c / prior_total).collect();
        let strength = 2.0;
        let log_transition = transition
            .iter()
            .map(|row| {
                let smoothed: Vec<f32> = row
                    .iter()
                    .zip(&prior)
                    .map(|(&c, &p)| c + strength * p)
                    .collect();
                log_normalize(&smoothed)
            })
            .collect();
        let start: Vec<f32> = start
            .iter()
            .zip(&prior)
            .map(|(&c, &p)| c + strength * p)
            .collect();
        let log_tone = tone
            .iter()
            .map(|row| {
                let smoothed: Vec<f32> = row.iter().map(|&c| c + 0.5).collect();
                let v = log_normalize(&smoothed);
                std::array::from_fn(|i| v[i])
            })
            .collect();
        Ok(Harmonizer {
            format: FORMAT,
            rhythm,
            chords,
            log_start: log_normalize(&start),
            log_transition,
            log_tone,
            melody_weight: 3.0,
            spans_learned: learned,
        })
    }

    /// Checks a harmonizer read from disk.
    pub fn validate(&self) -> Result<(), HarmonizerError> {
        if self.format != FORMAT {
            return Err(HarmonizerError::Format { found: self.format });
        }
        let n = self.chords.len();
        let shape = |what, found, expected| {
            (found != expected).then_some(HarmonizerError::Shape {
                what,
                found,
                expected,
            })
        };
        let expected_chords = Quality::RECOGNIZED.len() * 12;
        if let Some(e) = shape("chords", n, expected_chords)
            .or_else(|| shape("start probabilities", self.log_start.len(), n))
            .or_else(|| shape("transition rows", self.log_transition.len(), n))
            .or_else(|| {
                self.log_transition
                    .iter()
                    .find(|r| r.len() != n)
                    .map(|r| HarmonizerError::Shape {
                        what: "transition columns",
                        found: r.len(),
                        expected: n,
                    })
            })
            .or_else(|| {
                shape(
                    "tone tables",
                    self.log_tone.len(),
                    Quality::RECOGNIZED.len(),
                )
            })
        {
            return Err(e);
        }
        Ok(())
    }

    /// The chord of each span of [`Harmonizer::rhythm`] over the bars.
    pub fn propose(&self, example: &HarmonyExample) -> Vec<Option<Chord>> {
        self.chords_for(&example.melody, &example.bar_steps, example.steps_per_beat)
    }

    /// The chord of each span of [`Harmonizer::rhythm`] for a melody over bars of the given
    /// lengths.
    pub fn chords_for(
        &self,
        melody: &[StepNote],
        bar_steps: &[u32],
        steps_per_beat: u32,
    ) -> Vec<Option<Chord>> {
        let spans = self.rhythm.spans(bar_steps, steps_per_beat);
        let weights = melody_weights(melody, bar_steps, steps_per_beat, &spans);
        let emissions: Vec<Vec<f32>> = weights
            .iter()
            .map(|w| {
                let total: f32 = w.iter().sum();
                self.chords
                    .iter()
                    .enumerate()
                    .map(|(state, chord)| {
                        if total <= 0.0 {
                            return 0.0;
                        }
                        let table = &self.log_tone[state / 12];
                        let fit: f32 = w
                            .iter()
                            .enumerate()
                            .map(|(pc, &x)| {
                                x / total * table[(pc + 12 - usize::from(chord.root)) % 12]
                            })
                            .sum();
                        self.melody_weight * fit
                    })
                    .collect()
            })
            .collect();
        viterbi(&self.log_start, &self.log_transition, &emissions)
            .into_iter()
            .map(|i| Some(self.chords[i]))
            .collect()
    }

    /// A chord track for a melody.
    pub fn harmonize(
        &self,
        melody: &[StepNote],
        bar_steps: &[u32],
        steps_per_beat: u32,
    ) -> ChordTrack {
        let chords = self.chords_for(melody, bar_steps, steps_per_beat);
        ChordTrack::from_chords(bar_steps, steps_per_beat, self.rhythm, &chords)
    }
}

/// The tonic triad of the melody's estimated key in every span: the first baseline.
pub fn tonic_everywhere(example: &HarmonyExample, rhythm: HarmonicRhythm) -> Vec<Option<Chord>> {
    let mut histogram = [0.0f64; 12];
    for note in &example.melody {
        histogram[usize::from(note.pitch % 12)] += note.duration_steps as f64;
    }
    let tonic = Key::estimate(&PitchClassHistogram(histogram)).map(|key| {
        let quality = match key.mode {
            Mode::Major => Quality::Major,
            Mode::Minor => Quality::Minor,
        };
        Chord::new(key.tonic, quality)
    });
    let spans = rhythm.spans(&example.bar_steps, example.steps_per_beat);
    vec![tonic; spans.len()]
}

/// The major or minor triad that best explains each bar's melody, for every span of that bar:
/// the second baseline, and the harmony of the rule-based arranger.
pub fn best_triad_per_bar(
    melody: &[StepNote],
    bar_steps: &[u32],
    steps_per_beat: u32,
    rhythm: HarmonicRhythm,
) -> Vec<Option<Chord>> {
    let recognizer = Recognizer {
        bass_weight: 0.0,
        root_bass_bonus: 0.0,
        ..Recognizer::default()
    };
    let triads: Vec<Chord> = [Quality::Major, Quality::Minor]
        .iter()
        .flat_map(|&q| (0..12).map(move |r| Chord::new(r, q)))
        .collect();
    let mut per_bar = Vec::with_capacity(bar_steps.len());
    let mut at = 0u32;
    let mut last = None;
    for &bar in bar_steps {
        let chroma = Chroma::of_span(melody, at, bar);
        let best = if chroma.total() > 0.0 {
            triads
                .iter()
                .copied()
                .max_by(|a, b| {
                    recognizer
                        .score(&chroma, Some(*a))
                        .total_cmp(&recognizer.score(&chroma, Some(*b)))
                })
                .map(Some)
                .unwrap_or(last)
        } else {
            last
        };
        per_bar.push(best);
        last = best;
        at += bar;
    }
    // A span takes the chord of the bar it starts in.
    let mut starts = Vec::with_capacity(bar_steps.len());
    let mut at = 0u32;
    for &bar in bar_steps {
        starts.push(at);
        at += bar;
    }
    rhythm
        .spans(bar_steps, steps_per_beat)
        .iter()
        .map(|&(start, _)| per_bar[starts.partition_point(|&s| s <= start) - 1])
        .collect()
}

/// How often proposed chords match the true ones, over spans whose truth is a chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Accuracy {
    /// Spans compared (the truth has a chord there).
    pub spans: usize,
    /// Spans with the right root.
    pub root: usize,
    /// Spans with the right root and quality (both read in the recognized vocabulary, bass
    /// ignored).
    pub chord: usize,
}

impl Accuracy {
    /// Compare span by span.
    pub fn of(proposed: &[Option<Chord>], truth: &[Option<Chord>]) -> Accuracy {
        let mut a = Accuracy::default();
        for (p, t) in proposed.iter().zip(truth) {
            a.add(*p, *t);
        }
        a
    }

    /// One span's verdict.
    pub fn add(&mut self, proposed: Option<Chord>, truth: Option<Chord>) {
        let Some(truth) = truth else { return };
        self.spans += 1;
        if let Some(p) = proposed {
            let (p, t) = (crate::reduce(p), crate::reduce(truth));
            self.root += usize::from(p.root == t.root);
            self.chord += usize::from(p == t);
        }
    }

    /// The sum over examples of proposing with `propose`.
    pub fn of_examples(
        examples: &[HarmonyExample],
        propose: impl Fn(&HarmonyExample) -> Vec<Option<Chord>>,
    ) -> Accuracy {
        examples
            .iter()
            .map(|e| Accuracy::of(&propose(e), &e.chords))
            .fold(Accuracy::default(), |a, b| a.plus(b))
    }

    /// Both counts together.
    pub fn plus(self, other: Accuracy) -> Accuracy {
        Accuracy {
            spans: self.spans + other.spans,
            root: self.root + other.root,
            chord: self.chord + other.chord,
        }
    }

    /// Share of spans with the right root.
    pub fn root_rate(&self) -> f32 {
        self.root as f32 / self.spans.max(1) as f32
    }

    /// Share of spans with the right chord.
    pub fn chord_rate(&self) -> f32 {
        self.chord as f32 / self.spans.max(1) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(pitch: u8, start: u64, duration: u64) -> StepNote {
        StepNote {
            start_step: start,
            duration_steps: duration,
            pitch,
            velocity: 90,
        }
    }

    /// A melody outlining I–IV–V–I in C, one chord per 4/4 bar, repeated.
    fn cadence_song(repeats: usize) -> HarmonyExample {
        let bars: [(&[u8], &str); 4] = [
            (&[72, 76, 79, 76], "C"),
            (&[77, 81, 72, 81], "F"),
            (&[79, 83, 74, 77], "G7"),
            (&[76, 72, 79, 72], "C"),
        ];
        let mut melody = Vec::new();
        let mut chords = Vec::new();
        let mut at = 0;
        for _ in 0..repeats {
            for (pitches, chord) in bars {
                for (i, &p) in pitches.iter().enumerate() {
                    melody.push(note(p, at + 4 * i as u64, 4));
                }
                let c: Chord = chord.parse().unwrap();
                chords.extend([Some(c), Some(c)]);
                at += 16;
            }
        }
        HarmonyExample {
            melody,
            bar_steps: vec![16; 4 * repeats],
            steps_per_beat: 4,
            chords,
        }
    }

    #[test]
    fn learns_a_cadence_and_beats_the_baselines() {
        let examples: Vec<HarmonyExample> = (0..10).map(|_| cadence_song(2)).collect();
        let h = Harmonizer::fit(&examples, HarmonicRhythm::HalfBar).unwrap();
        h.validate().unwrap();
        let test = cadence_song(3);
        let learned = Accuracy::of(&h.propose(&test), &test.chords);
        let tonic = Accuracy::of(
            &tonic_everywhere(&test, HarmonicRhythm::HalfBar),
            &test.chords,
        );
        let triad = Accuracy::of(
            &best_triad_per_bar(&test.melody, &test.bar_steps, 4, HarmonicRhythm::HalfBar),
            &test.chords,
        );
        assert_eq!(learned.chord, learned.spans, "{learned:?}");
        assert!(tonic.chord_rate() < 0.6, "{tonic:?}");
        assert!(
            triad.chord_rate() < 1.0,
            "the G7 bars are not triads: {triad:?}"
        );
        let json = serde_json::to_string(&h).unwrap();
        let back: Harmonizer = serde_json::from_str(&json).unwrap();
        assert_eq!(back.propose(&test), h.propose(&test));
    }

    #[test]
    fn no_data_is_an_error_and_bad_shapes_are_caught() {
        let empty = HarmonyExample {
            melody: vec![],
            bar_steps: vec![16],
            steps_per_beat: 4,
            chords: vec![None, None],
        };
        assert!(matches!(
            Harmonizer::fit(&[empty], HarmonicRhythm::HalfBar),
            Err(HarmonizerError::NoData)
        ));
        let mut h = Harmonizer::fit(&[cadence_song(1)], HarmonicRhythm::HalfBar).unwrap();
        h.log_transition.pop();
        assert!(h.validate().is_err());
        h.format = 99;
        assert!(matches!(h.validate(), Err(HarmonizerError::Format { .. })));
    }

    #[test]
    fn best_triad_follows_each_bar() {
        let song = cadence_song(1);
        let chords = best_triad_per_bar(&song.melody, &song.bar_steps, 4, HarmonicRhythm::Bar);
        let names: Vec<String> = chords.iter().map(|c| c.unwrap().to_string()).collect();
        assert_eq!(names[0], "C");
        assert_eq!(names[1], "F");
        assert_eq!(names[3], "C");
    }
}
