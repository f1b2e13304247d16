//! Training data for Orchestrion: folders of MIDI → windows of whole bars, by a TOML recipe.
//!
//! # Layout
//! - [`recipe`]: the recipe file (sources, melody rule, roles, grid, filters, split), parsed
//!   strictly and validated as a whole.
//! - `extract` and `timeline`: one song → role parts on the step grid, and its bar map.
//! - [`window`]: [`Window`] (notes of a few bars) and [`Window::to_roll`], the roll the model and
//!   the metrics see.
//! - [`build`](build::build): the parallel, deterministic builder; [`shard`]: the safetensors
//!   file of one split; [`stats`]: `stats.json`, the reference metrics of the data.
//!
//! # A dataset directory
//! `meta.json` ([`DatasetMeta`]), `train.safetensors` and `validation.safetensors` (see
//! [`shard`]), `songs.json` (every file considered, its id and side of the split), `stats.json`
//! ([`Stats`]) and `recipe.toml` (the recipe as written). `docs/datasets.md` describes it all.

mod blend;
pub mod build;
mod error;
pub mod extract;
pub mod meta;
pub mod recipe;
pub mod shard;
pub mod split;
pub mod stats;
pub mod timeline;
pub mod window;

pub use build::{Progress, Silent, SongEntry, build, build_with_threads};
pub use error::{Error, ErrorKind};
pub use meta::DatasetMeta;
pub use recipe::{LoadedRecipe, Recipe};
pub use split::Side;
pub use stats::{Stats, load_stats};
pub use window::{Window, WindowNote};

use std::path::Path;

/// Everything a training run needs from a built dataset directory.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub meta: DatasetMeta,
    pub train: Vec<Window>,
    pub validation: Vec<Window>,
}

impl Dataset {
    /// Opens a directory written by [`build()`], checking that the shards agree with the meta.
    pub fn open(dir: &Path) -> Result<Dataset, Error> {
        let meta_path = dir.join(build::META_FILE);
        let text = std::fs::read_to_string(&meta_path).map_err(|err| Error::io(&meta_path, err))?;
        let meta: DatasetMeta = serde_json::from_str(&text)
            .map_err(|err| Error::corrupt(&meta_path, format!("not a meta.json: {err}")))?;
        if meta.roles.first() != Some(&orchestrion_music::TrackRole::Melody)
            || meta.programs.len() != meta.roles.len()
            || meta.pitch_ranges.len() != meta.roles.len()
        {
            return Err(Error::corrupt(
                &meta_path,
                "roles, programs and pitch_ranges disagree (or roles[0] is not melody)",
            ));
        }
        let read = |file: &str| -> Result<Vec<Window>, Error> {
            let path = dir.join(file);
            let bytes = std::fs::read(&path).map_err(|err| Error::io(&path, err))?;
            let windows = shard::decode(&bytes).map_err(|m| Error::corrupt(&path, m))?;
            for (i, window) in windows.iter().enumerate() {
                if window.steps() > meta.max_window_steps
                    || window
                        .notes
                        .iter()
                        .any(|n| usize::from(n.track) >= meta.roles.len())
                {
                    return Err(Error::corrupt(
                        &path,
                        format!("window {i} does not fit meta.json (too long or unknown track)"),
                    ));
                }
            }
            Ok(windows)
        };
        Ok(Dataset {
            train: read(build::TRAIN_FILE)?,
            validation: read(build::VALIDATION_FILE)?,
            meta,
        })
    }
}
