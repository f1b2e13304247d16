//! PR, the polyphonic rate: how often a track plays several pitches at once (chords against
//! single lines). A bass that is always polyphonic, or a piano that never is, sounds wrong.
//!
//! Source: Dong et al., "MuseGAN", AAAI 2018 (metric PP, "polyphonicity"). Following MuseGAN's
//! reference code, a step counts when at least two pitches sound, and the rate is taken over the
//! steps of non-empty bars (silence is EB's business). muspy's `polyphony_rate` differs in both
//! respects (more than two pitches, over every step); [`polyphonic_rate_over_all_steps`] gives
//! its definition for the agreement test.

use crate::view::TrackView;

/// Pitches that must sound together for a step to count as polyphonic.
pub const POLYPHONIC_PITCHES: u32 = 2;

/// Fraction of the steps of non-empty bars where at least `min_pitches` pitches sound. `None`
/// when every bar is empty.
pub fn polyphonic_rate(view: &TrackView, min_pitches: u32) -> Option<f64> {
    let mut steps = 0usize;
    let mut polyphonic = 0usize;
    for bar in 0..view.bars() {
        let masks = &view.sounding[view.bar_range(bar)];
        if masks.iter().any(|&m| m != 0) {
            steps += masks.len();
            polyphonic += count_polyphonic(masks, min_pitches);
        }
    }
    (steps > 0).then(|| polyphonic as f64 / steps as f64)
}

/// Fraction of all steps (silent ones included) where at least `min_pitches` pitches sound.
/// `None` for a view without steps.
pub fn polyphonic_rate_over_all_steps(view: &TrackView, min_pitches: u32) -> Option<f64> {
    let steps = view.steps();
    (steps > 0).then(|| count_polyphonic(&view.sounding, min_pitches) as f64 / steps as f64)
}

fn count_polyphonic(masks: &[u128], min_pitches: u32) -> usize {
    masks
        .iter()
        .filter(|m| m.count_ones() >= min_pitches)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::GridNote;
    use orchestrion_music::TrackRole;

    fn view() -> TrackView {
        // Bar 0 (8 steps): a C-E dyad on steps 0..4, then C alone on 4..6 → 4 polyphonic steps.
        // Bar 1: empty. Bar 2: C-E-G triad on steps 16..18 → 2 polyphonic steps.
        let notes = vec![
            GridNote {
                start: 0,
                pitch: 60,
                len: 6,
            },
            GridNote {
                start: 0,
                pitch: 64,
                len: 4,
            },
            GridNote {
                start: 16,
                pitch: 60,
                len: 2,
            },
            GridNote {
                start: 16,
                pitch: 64,
                len: 2,
            },
            GridNote {
                start: 16,
                pitch: 67,
                len: 2,
            },
        ];
        TrackView::from_notes(TrackRole::Piano, false, 2, &[8, 8, 8], notes)
    }

    #[test]
    fn musegan_rate_ignores_empty_bars() {
        // 6 polyphonic steps out of the 16 steps of bars 0 and 2.
        assert_eq!(polyphonic_rate(&view(), 2), Some(6.0 / 16.0));
    }

    #[test]
    fn muspy_rate_counts_every_step_and_takes_a_threshold() {
        assert_eq!(polyphonic_rate_over_all_steps(&view(), 2), Some(6.0 / 24.0));
        // "More than two" pitches: only the triad's 2 steps.
        assert_eq!(polyphonic_rate_over_all_steps(&view(), 3), Some(2.0 / 24.0));
    }

    #[test]
    fn silence_is_undefined_for_musegan_and_zero_for_muspy() {
        let v = TrackView::from_notes(TrackRole::Piano, false, 4, &[16], vec![]);
        assert_eq!(polyphonic_rate(&v, 2), None);
        assert_eq!(polyphonic_rate_over_all_steps(&v, 2), Some(0.0));
    }
}
