//! Decoding: the generator's onset and sustain probabilities become notes, role by role.
//!
//! Why per role: one global 0.5 threshold fits no part. A bass or a chorale voice is one line
//! (one note at a time), whose probability mass is spread over a few neighbouring pitches, so a
//! global threshold either drops most of it (the voice falls silent) or lets several pitches
//! through at once (a polyphonic, fragmented bass). Each role therefore has its own onset and
//! sustain thresholds and a cap on the notes sounding together, stored in the model's
//! `config.json` ([`RoleDecoding`]) and chosen by [`crate::calibrate`] so that the decoded
//! output matches the training data's density, note lengths and polyphony.
//!
//! The rule, step by step along the window:
//! - a note may start at a pitch only where that pitch's onset probability passes the role's
//!   onset threshold (optionally only at a local peak in time, so a smeared onset makes one
//!   note, not three);
//! - a sounding note continues while its sustain probability passes the sustain threshold and
//!   no new onset of the same pitch starts;
//! - at most `max_polyphony` notes sound at once: new onsets take the free places first,
//!   strongest first (with a cap of 1 this is the argmax of the onset plane), then the notes
//!   already sounding keep their place by their sustain probability. `0` = no cap;
//! - drums: onsets only, each hit one step long.
//!
//! With no per-role entry the old behaviour holds: the global thresholds and no cap.

use crate::data::{GridNote, Layout};
use serde::{Deserialize, Serialize};

/// How one role's planes become notes. Stored per role (melody included, unused) in
/// `config.json` under `decoding`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RoleDecoding {
    /// A note starts only where the onset probability is above this.
    pub onset_threshold: f32,
    /// A note lasts while its sustain probability stays above this.
    pub sustain_threshold: f32,
    /// Most notes sounding together; 1 = one line (bass, a choir voice); 0 = no limit.
    #[serde(default)]
    pub max_polyphony: u32,
    /// Onsets count only at a local maximum in time of their pitch's onset probability.
    #[serde(default)]
    pub peaks_only: bool,
    /// How often the data leaves this part silent for a whole bar: the empty-bar rate
    /// calibration aimed at (rock's keys rest in most bars, a bass almost never). Set by
    /// `orchestrion calibrate`, so checks of a model's output know how sparse a part is meant
    /// to be; not used in decoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_empty_bar_rate: Option<f32>,
}

impl RoleDecoding {
    /// The behaviour of models without per-role decoding: shared thresholds, no cap.
    pub fn plain(onset_threshold: f32, sustain_threshold: f32) -> RoleDecoding {
        RoleDecoding {
            onset_threshold,
            sustain_threshold,
            max_polyphony: 0,
            peaks_only: false,
            data_empty_bar_rate: None,
        }
    }
}

/// A note being decoded: its pitch row and first step.
#[derive(Debug, Clone, Copy)]
struct Open {
    row: usize,
    start: usize,
}

/// Turn one role's probability planes (`probs` is the whole `[P, T]` roll) into notes over the
/// first `valid_steps` steps, by the rule in the module docs. Notes are sorted by (start, pitch).
pub fn decode_role(
    layout: &Layout,
    probs: &[f32],
    valid_steps: usize,
    role: usize,
    params: &RoleDecoding,
) -> Vec<GridNote> {
    let t = layout.steps;
    let limit = valid_steps.min(t);
    let rows = layout.rows[role];
    let drum = layout.is_drum(role);
    let onset_of = |row: usize| &probs[layout.channel(role, 0, row) * t..][..t];
    let sustain_of = |row: usize| &probs[layout.channel(role, 1, row) * t..][..t];
    let cap = match params.max_polyphony {
        0 => usize::MAX,
        k => k as usize,
    };
    let is_onset = |row: usize, s: usize| {
        let onset = onset_of(row);
        let p = onset[s];
        if p <= params.onset_threshold {
            return false;
        }
        // A plateau counts once, at its first step.
        !params.peaks_only
            || ((s == 0 || onset[s - 1] < p) && (s + 1 >= limit || onset[s + 1] <= p))
    };
    let mut notes = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let close = |note: Open, end: usize, notes: &mut Vec<GridNote>| {
        notes.push(GridNote {
            role,
            pitch: layout.lowest[role] + note.row as u8,
            velocity: 0,
            start: note.start as u32,
            duration: (end - note.start).max(1) as u32,
        });
    };
    let mut starting: Vec<(f32, usize)> = Vec::new();
    let mut staying: Vec<(f32, Open)> = Vec::new();
    for s in 0..limit {
        starting.clear();
        starting.extend(
            (0..rows)
                .filter(|&row| is_onset(row, s))
                .map(|row| (onset_of(row)[s], row)),
        );
        // Strongest first; equal probabilities keep pitch order, so decoding is deterministic.
        starting.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        starting.truncate(cap);
        staying.clear();
        for note in open.drain(..) {
            let restarted = starting.iter().any(|&(_, row)| row == note.row);
            let sustain = sustain_of(note.row)[s];
            if drum || restarted || sustain <= params.sustain_threshold {
                close(note, s, &mut notes);
            } else {
                staying.push((sustain, note));
            }
        }
        staying.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.row.cmp(&b.1.row)));
        let room = cap.saturating_sub(starting.len());
        for (i, &(_, note)) in staying.iter().enumerate() {
            if i < room {
                open.push(note);
            } else {
                close(note, s, &mut notes);
            }
        }
        open.extend(starting.iter().map(|&(_, row)| Open { row, start: s }));
    }
    for note in open.drain(..) {
        let end = if drum { note.start + 1 } else { limit };
        close(note, end, &mut notes);
    }
    notes.sort_by_key(|n| (n.start, n.pitch));
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data;
    use crate::rng::Rng;
    use orchestrion_music::TrackRole;

    fn layout() -> Layout {
        Layout::new(
            &[TrackRole::Melody, TrackRole::Drums, TrackRole::Bass],
            &[(48, 12), (35, 6), (28, 12)],
            32,
            4,
        )
    }

    fn set(
        layout: &Layout,
        probs: &mut [f32],
        role: usize,
        plane: usize,
        row: usize,
        s: usize,
        p: f32,
    ) {
        probs[layout.channel(role, plane, row) * layout.steps + s] = p;
    }

    #[test]
    fn without_a_cap_it_is_the_plain_threshold_rule() {
        let l = layout();
        let mut rng = Rng::new(7);
        for _ in 0..20 {
            let probs: Vec<f32> = (0..l.roll_channels() * l.steps)
                .map(|_| rng.uniform())
                .collect();
            for role in 1..3 {
                assert_eq!(
                    decode_role(&l, &probs, 30, role, &RoleDecoding::plain(0.6, 0.4)),
                    data::binarize(&l, &probs, 30, role, 0.6, 0.4)
                );
            }
        }
    }

    #[test]
    fn a_monophonic_role_plays_the_strongest_onset_and_holds_it() {
        let l = layout();
        let mut probs = vec![0.0; l.roll_channels() * l.steps];
        // Two pitches start together (0.7 and 0.8); the stronger wins and is held 4 steps.
        set(&l, &mut probs, 2, 0, 3, 0, 0.7);
        set(&l, &mut probs, 2, 0, 5, 0, 0.8);
        for s in 0..4 {
            set(&l, &mut probs, 2, 1, 3, s, 0.9);
            set(&l, &mut probs, 2, 1, 5, s, 0.6);
        }
        // A weak onset (below threshold) at step 2 changes nothing; a strong one at step 6 does.
        set(&l, &mut probs, 2, 0, 7, 2, 0.3);
        set(&l, &mut probs, 2, 0, 1, 6, 0.55);
        set(&l, &mut probs, 2, 1, 1, 6, 0.9);
        let mono = RoleDecoding {
            max_polyphony: 1,
            ..RoleDecoding::plain(0.5, 0.5)
        };
        let notes = decode_role(&l, &probs, 32, 2, &mono);
        let got: Vec<(u8, u32, u32)> = notes
            .iter()
            .map(|n| (n.pitch, n.start, n.duration))
            .collect();
        assert_eq!(got, vec![(33, 0, 4), (29, 6, 1)]);
        let plain = decode_role(&l, &probs, 32, 2, &RoleDecoding::plain(0.5, 0.5));
        assert_eq!(
            plain.len(),
            3,
            "without the cap both pitches sound: {plain:?}"
        );
    }

    #[test]
    fn peaks_only_turns_a_smeared_onset_into_one_note() {
        let l = layout();
        let mut probs = vec![0.0; l.roll_channels() * l.steps];
        for (s, p) in [(4, 0.6), (5, 0.9), (6, 0.7)] {
            set(&l, &mut probs, 2, 0, 2, s, p);
        }
        let smeared = decode_role(&l, &probs, 32, 2, &RoleDecoding::plain(0.5, 0.5));
        assert_eq!(smeared.len(), 3);
        let peaks = RoleDecoding {
            peaks_only: true,
            ..RoleDecoding::plain(0.5, 0.5)
        };
        let one = decode_role(&l, &probs, 32, 2, &peaks);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].start, 5);
    }

    #[test]
    fn drums_are_one_step_hits_and_a_cap_keeps_the_strongest() {
        let l = layout();
        let mut probs = vec![0.0; l.roll_channels() * l.steps];
        for row in 0..4 {
            set(&l, &mut probs, 1, 0, row, 8, 0.6 + row as f32 * 0.1);
            for s in 8..12 {
                set(&l, &mut probs, 1, 1, row, s, 1.0);
            }
        }
        let capped = RoleDecoding {
            max_polyphony: 2,
            ..RoleDecoding::plain(0.5, 0.5)
        };
        let hits = decode_role(&l, &probs, 32, 1, &capped);
        let got: Vec<(u8, u32)> = hits.iter().map(|n| (n.pitch, n.duration)).collect();
        assert_eq!(got, vec![(37, 1), (38, 1)]);
    }
}
