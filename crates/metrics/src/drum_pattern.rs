//! DP, the drum pattern: how much of a drum part sits on a regular pattern grid. Real rock and
//! pop drums are mostly eighth-note patterns; a generator that scatters hits scores lower.
//!
//! Source: Dong et al., "MuseGAN", AAAI 2018 (metric DP: "ratio of notes in 8- or 16-beat
//! patterns"). MuseGAN's reference code works on 24 steps per beat: per bar, each drum onset
//! scores 1 on a 16th-note position and 0.3 one step (1/24 beat) away, the pattern may be
//! shifted to any phase (the best shift counts), and the bar's score is divided by its onsets.
//! On our coarser grids every onset is on a 16th position, which would make the metric always 1,
//! so we apply the same recipe to the 8th-note grid (the "8-beat pattern"), with the 1/24-beat
//! tolerance rounded down to whole steps (none at 4 or 12 steps per beat). muspy's
//! `drum_pattern_consistency` is a different reading again; [`pattern_share`] computes it too.

use crate::view::TrackView;

/// Credit for an onset within the tolerance but not on the grid (MuseGAN's filter value).
pub const NEAR_MISS_CREDIT: f64 = 0.3;

/// The 8th-note period in steps (a beat when a beat cannot be halved).
pub fn eighth_period(steps_per_beat: u32) -> usize {
    if steps_per_beat.is_multiple_of(2) {
        (steps_per_beat / 2) as usize
    } else {
        steps_per_beat as usize
    }
}

/// MuseGAN's 1/24-beat tolerance in whole steps.
pub fn tolerance_steps(steps_per_beat: u32) -> usize {
    (steps_per_beat / 24) as usize
}

/// Weighted share of `onsets` (step numbers) on a grid with one point every `period` steps: 1
/// per onset on a point, [`NEAR_MISS_CREDIT`] within `tolerance` steps of one. With
/// `best_phase` the grid may start at any step of the period and the best start counts; without
/// it the points are the multiples of `period`. `None` without onsets.
pub fn pattern_share(
    onsets: &[usize],
    period: usize,
    tolerance: usize,
    best_phase: bool,
) -> Option<f64> {
    if onsets.is_empty() || period == 0 {
        return None;
    }
    let phases = if best_phase { period } else { 1 };
    let best = (0..phases)
        .map(|phase| {
            onsets
                .iter()
                .map(|&step| {
                    let offset = (step + period - phase) % period;
                    let distance = offset.min(period - offset);
                    if distance == 0 {
                        1.0
                    } else if distance <= tolerance {
                        NEAR_MISS_CREDIT
                    } else {
                        0.0
                    }
                })
                .sum::<f64>()
        })
        .fold(0.0f64, f64::max);
    Some(best / onsets.len() as f64)
}

/// Mean over the bars with drum onsets of each bar's best-phase share of onsets on the 8th-note
/// grid (each drum instrument's hit counts). `None` without onsets.
pub fn drum_pattern_rate(view: &TrackView) -> Option<f64> {
    let period = eighth_period(view.steps_per_beat);
    let tolerance = tolerance_steps(view.steps_per_beat);
    let mut total = 0.0;
    let mut bars = 0usize;
    let mut notes = view.notes.iter().peekable();
    let mut onsets = Vec::new();
    for bar in 0..view.bars() {
        let range = view.bar_range(bar);
        onsets.clear();
        while let Some(note) = notes.next_if(|n| n.start < range.end) {
            onsets.push(note.start - range.start);
        }
        if let Some(share) = pattern_share(&onsets, period, tolerance, true) {
            total += share;
            bars += 1;
        }
    }
    (bars > 0).then(|| total / bars as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::GridNote;
    use orchestrion_music::TrackRole;

    fn drums(steps_per_beat: u32, bar_steps: &[u32], hits: &[(usize, u8)]) -> TrackView {
        let notes = hits
            .iter()
            .map(|&(start, pitch)| GridNote {
                start,
                pitch,
                len: 1,
            })
            .collect();
        TrackView::from_notes(TrackRole::Drums, true, steps_per_beat, bar_steps, notes)
    }

    #[test]
    fn eighth_note_rock_beat_is_fully_in_pattern() {
        // Hi-hat on every 8th, kick on 1 and 3, snare on 2 and 4, at 4 steps per beat.
        let mut hits: Vec<(usize, u8)> = (0..16).step_by(2).map(|s| (s, 42)).collect();
        hits.extend([(0, 36), (8, 36), (4, 38), (12, 38)]);
        assert_eq!(drum_pattern_rate(&drums(4, &[16], &hits)), Some(1.0));
    }

    #[test]
    fn best_phase_and_per_bar_mean() {
        // Bar 0: on-grid 8ths at 0, 2 plus a 16th at 5 → best phase 0 scores 2 of 3.
        // Bar 1: all hits on off-beat 16ths (17, 19, 21) → phase 1 scores 3 of 3.
        let v = drums(
            4,
            &[16, 16],
            &[(0, 36), (2, 42), (5, 42), (17, 42), (19, 42), (21, 42)],
        );
        assert_eq!(drum_pattern_rate(&v), Some((2.0 / 3.0 + 1.0) / 2.0));
    }

    #[test]
    fn tolerance_gives_partial_credit_at_fine_resolution() {
        // 24 steps per beat: the 8th period is 12 steps, tolerance 1 step.
        // Onsets at 0 (on grid), 13 (1 off) and 18 (6 off) with phase 0: (1 + 0.3 + 0) / 3.
        // No other phase does better.
        let v = drums(24, &[96], &[(0, 36), (13, 38), (18, 42)]);
        let dp = drum_pattern_rate(&v).unwrap();
        assert!((dp - 1.3 / 3.0).abs() < 1e-12, "{dp}");
    }

    #[test]
    fn fixed_grid_without_phase_search() {
        // Period 3, no tolerance: onsets 0, 3, 4 → 2 of 3 on multiples of 3.
        assert_eq!(pattern_share(&[0, 3, 4], 3, 0, false), Some(2.0 / 3.0));
        assert_eq!(pattern_share(&[], 3, 0, false), None);
        assert_eq!(drum_pattern_rate(&drums(4, &[16], &[])), None);
    }
}
