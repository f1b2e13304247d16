//! `meta.json`: what a model must know about a dataset to train on it and to export its output.

use orchestrion_music::TrackRole;
use serde::{Deserialize, Serialize};

/// Everything about a built dataset that is not the windows themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetMeta {
    pub name: String,
    /// Plane order; `roles[0]` is always [`TrackRole::Melody`].
    pub roles: Vec<TrackRole>,
    /// GM program per role to write at export (drums: 0).
    pub programs: Vec<u8>,
    /// Grid: steps per quarter note.
    pub steps_per_beat: u32,
    pub window_bars: u32,
    /// The longest window in steps over the kept meters.
    pub max_window_steps: u32,
    /// Per role: (lowest MIDI pitch, number of rows). Drums use GM drum numbers. Every pitched
    /// note of the role, after any transposition in `transpose`, lies in this range.
    pub pitch_ranges: Vec<(u8, u8)>,
    /// Meters kept, as written, e.g. `[(4, 4), (3, 4), (6, 8)]`.
    pub meters: Vec<(u8, u8)>,
    /// Identifies the recipe (see `recipe.toml` in the dataset directory).
    pub recipe_hash: String,
    /// Inclusive range of semitone shifts the model may apply at load time.
    #[serde(default)]
    pub transpose: (i8, i8),
}
