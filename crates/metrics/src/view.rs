//! One track of a roll in the two shapes the metrics need: which pitches sound at each step (a
//! 128-bit mask per step) and the list of notes (onset, pitch, length in steps). Building both
//! once per track keeps every metric a short loop, and lets the muspy adapters feed notes read
//! from a MIDI file through exactly the same metric code.

use crate::Error;
use orchestrion_music::{PianoRoll, TrackRole};

/// A note on the step grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridNote {
    /// Step of the onset.
    pub start: usize,
    /// MIDI pitch (a GM drum-map number on drum tracks).
    pub pitch: u8,
    /// Steps the note sounds, at least 1.
    pub len: usize,
}

/// One track, ready to be measured.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackView {
    /// The track's role in the arrangement.
    pub role: TrackRole,
    /// Drum tracks are measured by rhythm metrics only.
    pub is_drum: bool,
    /// Grid resolution: steps per quarter note (thresholds in sixteenths scale with it).
    pub steps_per_beat: u32,
    /// Start step of every bar followed by the total number of steps, so bar `i` spans
    /// `bar_bounds[i]..bar_bounds[i + 1]`.
    pub bar_bounds: Vec<usize>,
    /// For each step, bit `p` is set when MIDI pitch `p` sounds.
    pub sounding: Vec<u128>,
    /// Notes ordered by (start, pitch): one per onset cell, and one where a sustain run begins
    /// without an onset.
    pub notes: Vec<GridNote>,
}

impl TrackView {
    /// A view built from notes; each note sounds from `start` for `len` steps (clipped to the
    /// view's end).
    pub fn from_notes(
        role: TrackRole,
        is_drum: bool,
        steps_per_beat: u32,
        bar_steps: &[u32],
        mut notes: Vec<GridNote>,
    ) -> TrackView {
        let bar_bounds = bounds(bar_steps);
        let steps = *bar_bounds.last().unwrap_or(&0);
        let mut sounding = vec![0u128; steps];
        for note in &notes {
            let end = (note.start + note.len).min(steps);
            for mask in sounding.iter_mut().take(end).skip(note.start) {
                *mask |= 1u128 << note.pitch;
            }
        }
        notes.sort_by_key(|n| (n.start, n.pitch));
        TrackView {
            role,
            is_drum,
            steps_per_beat,
            bar_bounds,
            sounding,
            notes,
        }
    }

    /// One view per track of `roll`, after checking that the roll's dimensions add up.
    pub fn all_from_roll(roll: &PianoRoll) -> Result<Vec<TrackView>, Error> {
        check_roll(roll)?;
        Ok((0..roll.roles.len())
            .map(|track| Self::from_roll_track(roll, track))
            .collect())
    }

    /// Reads track `track` of a roll already checked by [`check_roll`].
    fn from_roll_track(roll: &PianoRoll, track: usize) -> TrackView {
        let mut sounding = vec![0u128; roll.steps];
        let mut notes: Vec<GridNote> = Vec::new();
        // Index into `notes` of the note still sounding at each pitch row, if any.
        let mut open: Vec<Option<usize>> = vec![None; roll.pitches];
        for (step, mask) in sounding.iter_mut().enumerate() {
            let row_start = roll.index(track, step, 0);
            let onsets = &roll.onset[row_start..row_start + roll.pitches];
            let sustains = &roll.sustain[row_start..row_start + roll.pitches];
            for (row, (&onset, &sustain)) in onsets.iter().zip(sustains).enumerate() {
                let pitch = roll.lowest_pitch as usize + row;
                if onset != 0 {
                    // An onset on a silent cell is a one-step note; what sounds after it is
                    // another note.
                    open[row] = (sustain != 0).then_some(notes.len());
                    notes.push(GridNote {
                        start: step,
                        pitch: pitch as u8,
                        len: 1,
                    });
                } else if sustain != 0 {
                    match open[row] {
                        Some(i) => notes[i].len += 1,
                        // A sustain run without an onset (a window cut inside a note, or model
                        // output that forgot the onset) is a note too, as the music crate reads
                        // rolls back into songs: the metrics see the notes that get exported.
                        None => {
                            open[row] = Some(notes.len());
                            notes.push(GridNote {
                                start: step,
                                pitch: pitch as u8,
                                len: 1,
                            });
                        }
                    }
                } else {
                    open[row] = None;
                    continue;
                }
                *mask |= 1u128 << pitch;
            }
        }
        TrackView {
            role: roll.roles[track],
            is_drum: roll.is_drum[track],
            steps_per_beat: roll.steps_per_beat,
            bar_bounds: bounds(&roll.bar_steps),
            sounding,
            notes,
        }
    }

    /// Number of bars.
    pub fn bars(&self) -> usize {
        self.bar_bounds.len().saturating_sub(1)
    }

    /// Number of steps.
    pub fn steps(&self) -> usize {
        self.sounding.len()
    }

    /// The step range of bar `bar`.
    pub fn bar_range(&self, bar: usize) -> std::ops::Range<usize> {
        self.bar_bounds[bar]..self.bar_bounds[bar + 1]
    }

    /// Index of the bar containing `step`.
    pub fn bar_of(&self, step: usize) -> usize {
        self.bar_bounds.partition_point(|&b| b <= step) - 1
    }
}

/// Cumulative bar starts followed by the total.
fn bounds(bar_steps: &[u32]) -> Vec<usize> {
    let mut bounds = Vec::with_capacity(bar_steps.len() + 1);
    let mut at = 0usize;
    bounds.push(0);
    for &steps in bar_steps {
        at += steps as usize;
        bounds.push(at);
    }
    bounds
}

/// Refuses a roll whose planes, bars or pitch window contradict its dimensions, so that metric
/// code can index it without further checks.
pub fn check_roll(roll: &PianoRoll) -> Result<(), Error> {
    let invalid = |why: String| Err(Error::InvalidRoll(why));
    let tracks = roll.roles.len();
    if roll.is_drum.len() != tracks {
        return invalid(format!(
            "{} roles but {} drum flags",
            tracks,
            roll.is_drum.len()
        ));
    }
    if roll.steps_per_beat == 0 {
        return invalid("steps_per_beat is 0".into());
    }
    if roll.lowest_pitch as usize + roll.pitches > 128 {
        return invalid(format!(
            "pitch rows {}..{} go past MIDI pitch 127",
            roll.lowest_pitch,
            roll.lowest_pitch as usize + roll.pitches
        ));
    }
    if roll.bar_steps.contains(&0) {
        return invalid("a bar has 0 steps".into());
    }
    let bar_total: u64 = roll.bar_steps.iter().map(|&s| s as u64).sum();
    if bar_total != roll.steps as u64 {
        return invalid(format!(
            "bars cover {bar_total} steps but the roll has {}",
            roll.steps
        ));
    }
    let cells = tracks
        .checked_mul(roll.steps)
        .and_then(|c| c.checked_mul(roll.pitches));
    if cells != Some(roll.onset.len()) || cells != Some(roll.sustain.len()) {
        return invalid(format!(
            "planes hold {} onset and {} sustain cells, expected {tracks} × {} × {}",
            roll.onset.len(),
            roll.sustain.len(),
            roll.steps,
            roll.pitches
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Hand-written notes of one test track: `(start, pitch, len)`.
    pub(crate) type TestNotes<'a> = &'a [(usize, u8, usize)];

    /// A roll with one track per `(role, is_drum, notes)`; notes are `(start, pitch, len)` and
    /// may run past the roll's end (clipped). Pitch rows cover MIDI 24..=107.
    pub(crate) fn roll(
        steps_per_beat: u32,
        bar_steps: &[u32],
        tracks: &[(TrackRole, bool, TestNotes)],
    ) -> PianoRoll {
        let steps = bar_steps.iter().sum::<u32>() as usize;
        let (lowest_pitch, pitches) = (24u8, 84usize);
        let cells = tracks.len() * steps * pitches;
        let mut r = PianoRoll {
            roles: tracks.iter().map(|t| t.0).collect(),
            is_drum: tracks.iter().map(|t| t.1).collect(),
            steps_per_beat,
            bar_steps: bar_steps.to_vec(),
            steps,
            lowest_pitch,
            pitches,
            onset: vec![0; cells],
            sustain: vec![0; cells],
        };
        for (track, (_, _, notes)) in tracks.iter().enumerate() {
            for &(start, pitch, len) in notes.iter() {
                let row = (pitch - lowest_pitch) as usize;
                let i = r.index(track, start, row);
                r.onset[i] = 1;
                for step in start..(start + len).min(steps) {
                    let i = r.index(track, step, row);
                    r.sustain[i] = 1;
                }
            }
        }
        r
    }

    #[test]
    fn onsets_split_repeated_notes_and_sustain_extends_them() {
        // Two C4s back to back (steps 0..2 and 2..6), then E4 for one step.
        let r = roll(
            4,
            &[8],
            &[(
                TrackRole::Piano,
                false,
                &[(0, 60, 2), (2, 60, 4), (6, 64, 1)],
            )],
        );
        let v = &TrackView::all_from_roll(&r).unwrap()[0];
        let notes: Vec<_> = v.notes.iter().map(|n| (n.start, n.pitch, n.len)).collect();
        assert_eq!(notes, vec![(0, 60, 2), (2, 60, 4), (6, 64, 1)]);
        assert_eq!(v.sounding[5], 1 << 60);
        assert_eq!(v.sounding[7], 0);
    }

    #[test]
    fn a_sustain_run_without_onset_is_a_note_from_where_it_begins() {
        let mut r = roll(4, &[8], &[(TrackRole::Bass, false, &[(4, 40, 2)])]);
        // A note held over from before the window: sustain on steps 0..2, no onset.
        for step in 0..2 {
            let i = r.index(0, step, 40 - 24);
            r.sustain[i] = 1;
        }
        let v = &TrackView::all_from_roll(&r).unwrap()[0];
        let notes: Vec<_> = v.notes.iter().map(|n| (n.start, n.pitch, n.len)).collect();
        assert_eq!(notes, vec![(0, 40, 2), (4, 40, 2)]);
        assert_eq!(v.sounding[..3], [1 << 40, 1 << 40, 0]);
    }

    #[test]
    fn inconsistent_rolls_are_refused() {
        let good = roll(4, &[16, 16], &[(TrackRole::Melody, false, &[])]);
        assert!(check_roll(&good).is_ok());
        let mut r = good.clone();
        r.bar_steps = vec![16, 12];
        assert!(
            check_roll(&r)
                .unwrap_err()
                .to_string()
                .contains("bars cover 28 steps")
        );
        let mut r = good.clone();
        r.onset.pop();
        assert!(check_roll(&r).is_err());
        let mut r = good.clone();
        r.lowest_pitch = 60;
        assert!(
            check_roll(&r)
                .unwrap_err()
                .to_string()
                .contains("past MIDI pitch 127")
        );
        let mut r = good.clone();
        r.is_drum.push(true);
        assert!(check_roll(&r).is_err());
        let mut r = good;
        r.steps_per_beat = 0;
        assert!(check_roll(&r).is_err());
    }
}
