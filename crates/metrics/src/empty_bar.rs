//! EB, the empty-bar rate: how often a track is silent for a whole bar. A generator that drops
//! out (or never stops) shows up here first.
//!
//! Source: Dong et al., "MuseGAN: Multi-track Sequential Generative Adversarial Networks for
//! Symbolic Music Generation and Accompaniment", AAAI 2018 (metric EB). muspy's
//! `empty_beat_rate` / `empty_measure_rate` are the same count on beats or fixed-size measures.

use crate::view::TrackView;

/// Fraction of bars in which no pitch sounds (a note held over from the previous bar counts as
/// sounding). `None` for a view without bars.
pub fn empty_bar_rate(view: &TrackView) -> Option<f64> {
    let bars = view.bars();
    if bars == 0 {
        return None;
    }
    let empty = (0..bars)
        .filter(|&bar| view.sounding[view.bar_range(bar)].iter().all(|&m| m == 0))
        .count();
    Some(empty as f64 / bars as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::GridNote;
    use orchestrion_music::TrackRole;

    fn view(bar_steps: &[u32], notes: &[(usize, u8, usize)]) -> TrackView {
        let notes = notes
            .iter()
            .map(|&(start, pitch, len)| GridNote { start, pitch, len })
            .collect();
        TrackView::from_notes(TrackRole::Piano, false, 4, bar_steps, notes)
    }

    #[test]
    fn counts_bars_where_nothing_sounds() {
        // Four 16-step bars; notes in bars 0 and 2 only.
        let v = view(&[16; 4], &[(0, 60, 4), (35, 64, 2)]);
        assert_eq!(empty_bar_rate(&v), Some(0.5));
    }

    #[test]
    fn a_note_held_across_the_bar_line_fills_the_next_bar() {
        // Starts at step 12 of bar 0 and lasts into bar 1 (steps 12..20).
        let v = view(&[16, 16, 16], &[(12, 60, 8)]);
        assert_eq!(empty_bar_rate(&v), Some(1.0 / 3.0));
    }

    #[test]
    fn silent_track_is_all_empty_and_no_bars_is_undefined() {
        assert_eq!(empty_bar_rate(&view(&[12, 12], &[])), Some(1.0));
        assert_eq!(empty_bar_rate(&view(&[], &[])), None);
    }
}
