//! QN, the qualified-note rate: the share of notes long enough to be heard as notes rather than
//! clicks. GAN output full of one-step fragments scores low.
//!
//! Source: Dong et al., "MuseGAN", AAAI 2018 (metric QN). MuseGAN counts notes of at least 3
//! steps; we read that threshold on a sixteenth-note grid (as the DeepComposer version of the
//! metric does), i.e. three sixteenths, and scale it to the roll's resolution. Notes are taken
//! from the onset plane, so repeated notes stay apart and a note may cross a bar line.

use crate::view::TrackView;

/// Minimum length in sixteenth notes of a qualified note.
pub const QUALIFIED_SIXTEENTHS: u32 = 3;

/// The threshold in steps at `steps_per_beat` (a beat is four sixteenths), rounded up so a
/// note never qualifies by rounding.
pub fn qualified_steps(steps_per_beat: u32) -> usize {
    (QUALIFIED_SIXTEENTHS * steps_per_beat).div_ceil(4) as usize
}

/// Fraction of the notes starting in the view that last at least three sixteenths. `None`
/// without notes.
pub fn qualified_note_rate(view: &TrackView) -> Option<f64> {
    if view.notes.is_empty() {
        return None;
    }
    let threshold = qualified_steps(view.steps_per_beat);
    let qualified = view.notes.iter().filter(|n| n.len >= threshold).count();
    Some(qualified as f64 / view.notes.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::GridNote;
    use orchestrion_music::TrackRole;

    fn rate(steps_per_beat: u32, lens: &[usize]) -> Option<f64> {
        let notes = lens
            .iter()
            .enumerate()
            .map(|(i, &len)| GridNote {
                start: i * 16,
                pitch: 60,
                len,
            })
            .collect();
        let bars = vec![16u32; lens.len().max(1)];
        qualified_note_rate(&TrackView::from_notes(
            TrackRole::Melody,
            false,
            steps_per_beat,
            &bars,
            notes,
        ))
    }

    #[test]
    fn threshold_is_three_sixteenths_at_any_resolution() {
        assert_eq!(qualified_steps(4), 3);
        assert_eq!(qualified_steps(12), 9);
        assert_eq!(qualified_steps(2), 2);
    }

    #[test]
    fn counts_notes_of_three_sixteenths_or_more() {
        // Lengths 1, 2, 3, 8 at 4 steps per beat → 2 of 4 qualify.
        assert_eq!(rate(4, &[1, 2, 3, 8]), Some(0.5));
        // At 12 steps per beat, 3 steps is a 16th triplet only: 1 of 4 (the 9+ step note).
        assert_eq!(rate(12, &[3, 6, 8, 9]), Some(0.25));
        assert_eq!(rate(4, &[]), None);
    }
}
