//! The piano roll: the tensor-shaped view of a song that the model and the metrics work on.
//!
//! Layout: `[track][step][pitch]`, row-major, one byte per cell. Two planes: `onset` marks the
//! step a note starts; `sustain` marks every step a note sounds (including its onset step). Two
//! repeated notes of the same pitch stay distinct because each has its own onset.

use crate::song::TrackRole;
use serde::{Deserialize, Serialize};

/// Binarized roll of several tracks over the same steps and pitch window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PianoRoll {
    /// One role per track plane, in plane order.
    pub roles: Vec<TrackRole>,
    /// Which tracks are drums (pitch rows are GM drum-map numbers there).
    pub is_drum: Vec<bool>,
    /// Grid resolution: steps per quarter note.
    pub steps_per_beat: u32,
    /// Steps per bar for each bar, in order; they sum to `steps`.
    pub bar_steps: Vec<u32>,
    pub steps: usize,
    /// MIDI pitch of pitch row 0.
    pub lowest_pitch: u8,
    /// Number of pitch rows.
    pub pitches: usize,
    /// `[track][step][pitch]`, 1 where a note starts.
    pub onset: Vec<u8>,
    /// `[track][step][pitch]`, 1 where a note sounds.
    pub sustain: Vec<u8>,
}

impl PianoRoll {
    /// Index of a cell in the `onset` / `sustain` planes.
    #[inline]
    pub fn index(&self, track: usize, step: usize, pitch_row: usize) -> usize {
        (track * self.steps + step) * self.pitches + pitch_row
    }
}
