//! UPC, used pitch classes per bar: how harmonically busy a track is. Too few means a stuck
//! generator; too many means noise.
//!
//! Source: Dong et al., "MuseGAN", AAAI 2018 (metric UPC), computed as in its reference code:
//! per non-empty bar, then averaged over those bars.

use crate::view::TrackView;

/// Bit mask of the pitch classes sounding anywhere in `masks` (bit `c` for pitch class `c`).
pub fn pitch_class_mask(masks: &[u128]) -> u16 {
    let pitches = masks.iter().fold(0u128, |acc, &m| acc | m);
    let mut classes = 0u16;
    for pitch in 0..128u32 {
        if pitches >> pitch & 1 == 1 {
            classes |= 1 << (pitch % 12);
        }
    }
    classes
}

/// Mean number of distinct pitch classes sounding per non-empty bar. `None` when every bar is
/// empty.
pub fn used_pitch_classes(view: &TrackView) -> Option<f64> {
    let mut total = 0u32;
    let mut non_empty = 0u32;
    for bar in 0..view.bars() {
        let classes = pitch_class_mask(&view.sounding[view.bar_range(bar)]);
        if classes != 0 {
            total += classes.count_ones();
            non_empty += 1;
        }
    }
    (non_empty > 0).then(|| total as f64 / non_empty as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::GridNote;
    use orchestrion_music::TrackRole;

    #[test]
    fn averages_over_non_empty_bars_and_folds_octaves() {
        let notes = vec![
            // Bar 0: C4, C5 (same class) and E4 → 2 classes.
            GridNote {
                start: 0,
                pitch: 60,
                len: 4,
            },
            GridNote {
                start: 0,
                pitch: 72,
                len: 4,
            },
            GridNote {
                start: 8,
                pitch: 64,
                len: 4,
            },
            // Bar 1 empty. Bar 2: G, B, D, F → 4 classes.
            GridNote {
                start: 32,
                pitch: 67,
                len: 2,
            },
            GridNote {
                start: 34,
                pitch: 71,
                len: 2,
            },
            GridNote {
                start: 36,
                pitch: 74,
                len: 2,
            },
            GridNote {
                start: 38,
                pitch: 77,
                len: 2,
            },
        ];
        let v = TrackView::from_notes(TrackRole::Piano, false, 4, &[16, 16, 16], notes);
        assert_eq!(used_pitch_classes(&v), Some(3.0));
    }

    #[test]
    fn silent_track_is_undefined() {
        let v = TrackView::from_notes(TrackRole::Bass, false, 4, &[16], vec![]);
        assert_eq!(used_pitch_classes(&v), None);
    }
}
