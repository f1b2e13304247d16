//! Chord recognition from played parts: which chord the accompaniment sounds in each span.
//!
//! Per span, the sounding notes give a duration-weighted chroma (steps sounded per pitch
//! class); the lowest sounding note at each step counts again, [`Recognizer::bass_weight`]
//! times, because the bass says which inversion (and often which chord) is meant. Each chord of
//! the vocabulary ([`Quality::RECOGNIZED`] on 12 roots) scores how much of the chroma its tones
//! explain minus what they leave out, a charge for each chord tone that does not sound, a small
//! charge for richer chords (a seventh must be heard to be chosen), and a bonus when the bass is
//! the root. A Viterbi pass then picks the best sequence, charging [`Recognizer::change_cost`] for
//! every change, so that a passing tone does not flip the chord for one span. Spans where
//! nothing sounds are N.C.
//!
//! The template method is that of Fujishima (1999) and, with the bass, of Pardo & Birmingham
//! (2002, "Algorithms for chordal analysis"); the Viterbi smoothing is the usual HMM decoding
//! with a flat change penalty.

use crate::chord::{Chord, Quality};
use crate::track::{ChordTrack, HarmonicRhythm};
use orchestrion_music::StepNote;

/// Steps sounded per pitch class in one span, and how much of it was the bass.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Chroma {
    /// Steps each pitch class sounds (every note counted).
    pub tones: [f32; 12],
    /// Steps each pitch class is the lowest sounding note.
    pub bass: [f32; 12],
}

impl Chroma {
    /// The chroma of `notes` over steps `[start, start + steps)`.
    pub fn of_span(notes: &[StepNote], start: u32, steps: u32) -> Chroma {
        let (a, b) = (u64::from(start), u64::from(start) + u64::from(steps));
        let mut chroma = Chroma::default();
        let mut lowest = vec![u8::MAX; steps as usize];
        for note in notes {
            let (s, e) = (note.start_step.max(a), note.end_step().min(b));
            if s >= e {
                continue;
            }
            chroma.tones[usize::from(note.pitch % 12)] += (e - s) as f32;
            for step in s..e {
                let slot = &mut lowest[(step - a) as usize];
                *slot = (*slot).min(note.pitch);
            }
        }
        for &pitch in lowest.iter().filter(|&&p| p != u8::MAX) {
            chroma.bass[usize::from(pitch % 12)] += 1.0;
        }
        chroma
    }

    /// Total weight: zero when nothing sounds.
    pub fn total(&self) -> f32 {
        self.tones.iter().sum()
    }

    /// The pitch class that is most often the lowest note, if any note sounds.
    pub fn bass_pitch_class(&self) -> Option<u8> {
        let (pc, &steps) = self
            .bass
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))?;
        (steps > 0.0).then_some(pc as u8)
    }
}

/// The chords recognition chooses among, N.C. last (see [`vocabulary_index`]).
pub fn vocabulary() -> Vec<Option<Chord>> {
    let mut out: Vec<Option<Chord>> = Quality::RECOGNIZED
        .iter()
        .flat_map(|&q| (0..12).map(move |root| Some(Chord::new(root, q))))
        .collect();
    out.push(None);
    out
}

/// Index of a chord (bass ignored) in [`vocabulary`], after [`reduce`] when its quality is not
/// recognized.
pub fn vocabulary_index(chord: Option<Chord>) -> usize {
    let n = Quality::RECOGNIZED.len() * 12;
    match chord.map(reduce) {
        None => n,
        Some(c) => {
            let q = Quality::RECOGNIZED
                .iter()
                .position(|&q| q == c.quality)
                .expect("reduce gives a recognized quality");
            q * 12 + usize::from(c.root)
        }
    }
}

/// The chord of the recognized vocabulary that a chord of another quality is heard as: the same
/// pitch classes where there is one (Csus2 = Gsus4), else the triad it extends (Cdim7 → Cdim,
/// C6 → C, Cm6 → Cm). The bass is dropped.
pub fn reduce(chord: Chord) -> Chord {
    let root = chord.root;
    match chord.quality {
        Quality::Diminished7 => Chord::new(root, Quality::Diminished),
        Quality::Major6 => Chord::new(root, Quality::Major),
        Quality::Minor6 => Chord::new(root, Quality::Minor),
        Quality::Sus2 => Chord::new(root + 7, Quality::Sus4),
        quality => Chord::new(root, quality),
    }
}

/// The weights of template matching and smoothing. `Default` is what docs/harmony.md measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recognizer {
    /// How much a step as the lowest note counts, on top of its step as a tone.
    pub bass_weight: f32,
    /// Charge, in units of the normalized chroma, for each chord tone that does not sound.
    pub missing_tone_cost: f32,
    /// Added to the score when the bass is the root.
    pub root_bass_bonus: f32,
    /// Charged in the Viterbi pass for every change of chord.
    pub change_cost: f32,
}

impl Default for Recognizer {
    fn default() -> Self {
        Recognizer {
            bass_weight: 1.0,
            missing_tone_cost: 0.25,
            root_bass_bonus: 0.1,
            change_cost: 0.08,
        }
    }
}

/// A small charge for chords beyond a plain triad, so that the simplest chord that explains
/// what sounds wins a tie.
fn complexity_cost(quality: Quality) -> f32 {
    match quality {
        Quality::Major | Quality::Minor => 0.0,
        Quality::Dominant7 | Quality::Minor7 | Quality::Major7 => 0.03,
        Quality::Diminished | Quality::Sus4 => 0.05,
        _ => 0.07,
    }
}

impl Recognizer {
    /// How well `chord` explains `chroma` (higher is better); N.C. scores 0 on silence and far
    /// below any chord otherwise.
    pub fn score(&self, chroma: &Chroma, chord: Option<Chord>) -> f32 {
        let total: f32 = chroma.total() + self.bass_weight * chroma.bass.iter().sum::<f32>();
        let Some(chord) = chord else {
            return if total > 0.0 { -10.0 } else { 0.0 };
        };
        if total <= 0.0 {
            return -10.0;
        }
        let mask = chord.mask();
        let weight = |pc: usize| (chroma.tones[pc] + self.bass_weight * chroma.bass[pc]) / total;
        let strongest = (0..12).map(weight).fold(0.0f32, f32::max);
        let mut score = 0.0;
        for pc in 0..12 {
            let w = weight(pc);
            if mask & (1 << pc) != 0 {
                score += w;
                if w < 0.1 * strongest {
                    score -= self.missing_tone_cost;
                }
            } else {
                score -= w;
            }
        }
        if chroma.bass_pitch_class() == Some(chord.root) {
            score += self.root_bass_bonus;
        }
        score - complexity_cost(chord.quality)
    }

    /// The best chord sequence for the chromas of consecutive spans.
    pub fn decode(&self, chromas: &[Chroma]) -> Vec<Option<Chord>> {
        let states = vocabulary();
        let emissions: Vec<Vec<f32>> = chromas
            .iter()
            .map(|c| states.iter().map(|&s| self.score(c, s)).collect())
            .collect();
        viterbi_flat(&emissions, self.change_cost)
            .into_iter()
            .map(|i| states[i])
            .collect()
    }

    /// Chords of the notes over `(start, steps)` spans.
    pub fn recognize(&self, notes: &[StepNote], spans: &[(u32, u32)]) -> Vec<Option<Chord>> {
        let chromas: Vec<Chroma> = spans
            .iter()
            .map(|&(start, steps)| Chroma::of_span(notes, start, steps))
            .collect();
        self.decode(&chromas)
    }

    /// A chord track of the notes over bars of the given lengths, at `rhythm`.
    pub fn track(
        &self,
        notes: &[StepNote],
        bar_steps: &[u32],
        steps_per_beat: u32,
        rhythm: HarmonicRhythm,
    ) -> ChordTrack {
        let spans = rhythm.spans(bar_steps, steps_per_beat);
        let chords = self.recognize(notes, &spans);
        ChordTrack::from_chords(bar_steps, steps_per_beat, rhythm, &chords)
    }
}

/// Viterbi over scores `[T][S]` (higher is better) where every change of state costs the same:
/// the best predecessor is either the same state or the best state of the previous span minus
/// `change_cost`, so each span costs O(S) instead of O(S²).
fn viterbi_flat(emissions: &[Vec<f32>], change_cost: f32) -> Vec<usize> {
    let Some(first) = emissions.first() else {
        return Vec::new();
    };
    let s = first.len();
    let mut score = first.clone();
    let mut back: Vec<Vec<usize>> = Vec::with_capacity(emissions.len());
    back.push((0..s).collect());
    for e in &emissions[1..] {
        let (best, &best_score) = score
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("states");
        let mut next = vec![0.0; s];
        let mut from = vec![0; s];
        for j in 0..s {
            let (prev, value) = if score[j] >= best_score - change_cost {
                (j, score[j])
            } else {
                (best, best_score - change_cost)
            };
            next[j] = value + e[j];
            from[j] = prev;
        }
        score = next;
        back.push(from);
    }
    let mut state = score
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .expect("states");
    let mut path = vec![0; emissions.len()];
    for t in (0..emissions.len()).rev() {
        path[t] = state;
        state = back[t][state];
    }
    path
}

/// Viterbi with a full transition matrix: `log_start[S]`, `log_transition[S][S]` (from, to) and
/// emissions `[T][S]`, all log scores.
pub(crate) fn viterbi(
    log_start: &[f32],
    log_transition: &[Vec<f32>],
    emissions: &[Vec<f32>],
) -> Vec<usize> {
    if emissions.is_empty() {
        return Vec::new();
    }
    let s = log_start.len();
    let mut score: Vec<f32> = (0..s).map(|j| log_start[j] + emissions[0][j]).collect();
    let mut back: Vec<Vec<usize>> = vec![(0..s).collect()];
    for e in &emissions[1..] {
        let mut next = vec![f32::NEG_INFINITY; s];
        let mut from = vec![0; s];
        for (i, &si) in score.iter().enumerate() {
            for j in 0..s {
                let v = si + log_transition[i][j];
                if v > next[j] {
                    next[j] = v;
                    from[j] = i;
                }
            }
        }
        for j in 0..s {
            next[j] += e[j];
        }
        score = next;
        back.push(from);
    }
    let mut state = (0..s)
        .max_by(|&a, &b| score[a].total_cmp(&score[b]))
        .expect("states");
    let mut path = vec![0; emissions.len()];
    for t in (0..emissions.len()).rev() {
        path[t] = state;
        state = back[t][state];
    }
    path
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

    fn block(pitches: &[u8], start: u64, duration: u64) -> Vec<StepNote> {
        pitches.iter().map(|&p| note(p, start, duration)).collect()
    }

    #[test]
    fn block_chords_are_recognized_with_their_quality() {
        let cases: [(&[u8], &str); 8] = [
            (&[48, 52, 55], "C"),
            (&[45, 48, 52], "Am"),
            (&[43, 47, 50, 53], "G7"),
            (&[41, 45, 48, 52], "Fmaj7"),
            (&[50, 53, 57, 60], "Dm7"),
            (&[47, 50, 53], "Bdim"),
            (&[47, 50, 53, 57], "Bm7b5"),
            (&[50, 55, 57], "Dsus4"),
        ];
        let r = Recognizer::default();
        for (pitches, name) in cases {
            let chords = r.recognize(&block(pitches, 0, 8), &[(0, 8)]);
            assert_eq!(chords[0].unwrap().to_string(), name, "{pitches:?}");
        }
    }

    #[test]
    fn an_arpeggio_with_a_passing_tone_stays_one_chord() {
        // C major arpeggiated over two half bars, with a D passing tone in the second.
        let mut notes = vec![note(36, 0, 16)];
        for (i, p) in [60, 64, 67, 64, 60, 62, 64, 67].into_iter().enumerate() {
            notes.push(note(p, 2 * i as u64, 2));
        }
        let chords = Recognizer::default().recognize(&notes, &[(0, 8), (8, 8)]);
        assert_eq!(chords, vec![Some("C".parse().unwrap()); 2]);
    }

    #[test]
    fn silence_is_no_chord_and_changes_are_followed() {
        let mut notes = block(&[43, 47, 50], 0, 8);
        notes.extend(block(&[48, 52, 55], 16, 8));
        let chords = Recognizer::default().recognize(&notes, &[(0, 8), (8, 8), (16, 8)]);
        assert_eq!(
            chords,
            vec![Some("G".parse().unwrap()), None, Some("C".parse().unwrap())]
        );
    }

    #[test]
    fn every_vocabulary_chord_has_an_index() {
        let v = vocabulary();
        for (i, &c) in v.iter().enumerate() {
            assert_eq!(vocabulary_index(c), i);
        }
        assert_eq!(
            vocabulary_index(Some("Csus2".parse().unwrap())),
            vocabulary_index(Some("Gsus4".parse().unwrap()))
        );
        assert_eq!(
            vocabulary_index(Some("G/B".parse().unwrap())),
            vocabulary_index(Some("G".parse().unwrap()))
        );
    }

    #[test]
    fn full_viterbi_follows_transitions() {
        // Two states; emissions slightly prefer 1 at t=1, but staying is far more likely.
        let start = vec![0.0, -5.0];
        let trans = vec![vec![0.0, -3.0], vec![-3.0, 0.0]];
        let em = vec![vec![0.0, -1.0], vec![-0.5, 0.0], vec![0.0, -1.0]];
        assert_eq!(viterbi(&start, &trans, &em), vec![0, 0, 0]);
    }
}
