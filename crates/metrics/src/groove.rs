//! Groove consistency: whether neighbouring bars share a rhythm. Real music repeats its groove;
//! unstructured output changes its onset pattern every bar.
//!
//! Source: Wu and Yang, "The Jazz Transformer on the Front Line", ISMIR 2020 (grooving pattern
//! similarity); muspy's `groove_consistency` (1 − mean Hamming distance between the binary onset
//! vectors of neighbouring measures, divided by the measure length).

use crate::view::TrackView;

/// 1 − the mean, over neighbouring bar pairs, of the Hamming distance between their onset
/// patterns divided by the bar length (a shorter bar is padded with silence to the longer one's
/// length). `None` with fewer than two bars, and for a track without notes: a silent part has
/// no groove (muspy, measuring whole songs, never meets one; per track it would score a perfect
/// 1 and flatter a generator that stays silent).
pub fn groove_consistency(view: &TrackView) -> Option<f64> {
    let bars = view.bars();
    if bars < 2 || view.notes.is_empty() {
        return None;
    }
    let patterns: Vec<Vec<bool>> = (0..bars)
        .map(|bar| {
            let range = view.bar_range(bar);
            let mut pattern = vec![false; range.len()];
            for note in view.notes.iter().filter(|n| range.contains(&n.start)) {
                pattern[note.start - range.start] = true;
            }
            pattern
        })
        .collect();
    let distance_sum: f64 = patterns
        .windows(2)
        .map(|pair| {
            let len = pair[0].len().max(pair[1].len());
            let at = |p: &Vec<bool>, i: usize| p.get(i).copied().unwrap_or(false);
            let differing = (0..len)
                .filter(|&i| at(&pair[0], i) != at(&pair[1], i))
                .count();
            differing as f64 / len as f64
        })
        .sum();
    Some(1.0 - distance_sum / (bars - 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::GridNote;
    use orchestrion_music::TrackRole;

    fn view(bar_steps: &[u32], onsets: &[usize]) -> TrackView {
        let notes = onsets
            .iter()
            .map(|&start| GridNote {
                start,
                pitch: 38,
                len: 1,
            })
            .collect();
        TrackView::from_notes(TrackRole::Drums, true, 2, bar_steps, notes)
    }

    #[test]
    fn identical_bars_are_fully_consistent() {
        assert_eq!(
            groove_consistency(&view(&[8, 8, 8], &[0, 4, 8, 12, 16, 20])),
            Some(1.0)
        );
    }

    #[test]
    fn hand_computed_distances() {
        // Bar 0 onsets {0, 4}, bar 1 {0, 2, 4} (distance 1/8), bar 2 {} (distance 3/8).
        // 1 − (1/8 + 3/8) / 2 = 0.75.
        assert_eq!(
            groove_consistency(&view(&[8, 8, 8], &[0, 4, 8, 10, 12])),
            Some(0.75)
        );
    }

    #[test]
    fn bars_of_different_lengths_are_padded() {
        // A 6-step bar {0, 3} against an 8-step bar {0, 3, 6}: 1 difference over 8 steps.
        assert_eq!(
            groove_consistency(&view(&[6, 8], &[0, 3, 6, 9, 12])),
            Some(1.0 - 1.0 / 8.0)
        );
        assert_eq!(groove_consistency(&view(&[8], &[0])), None);
        assert_eq!(groove_consistency(&view(&[8, 8], &[])), None);
    }
}
