//! `stats.json`: what went into a dataset and the metrics of the data itself — the reference
//! every model trained on it is judged against.

use crate::error::Error;
use orchestrion_metrics::MetricsReport;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Counts and reference metrics of a built dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub name: String,
    pub recipe_hash: String,
    pub files: FileCounts,
    pub songs: SplitCounts,
    pub windows: WindowCounts,
    /// Notes in the kept windows, by role name (overlapping windows count a note again).
    pub notes_per_role: BTreeMap<String, u64>,
    /// How many files were skipped for each kind of reason.
    pub skipped_by_reason: BTreeMap<String, usize>,
    /// Every skipped file with its reason, in path order.
    pub skipped: Vec<SkippedFile>,
    /// The metrics crate's report averaged over every kept window (train and validation), each
    /// window measured on exactly the roll the model sees (`Window::to_roll`, no transposition).
    pub metrics: MetricsReport,
}

/// What happened to the files found in the source folders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCounts {
    /// MIDI files in the source folders.
    pub found: usize,
    /// Left out by `source.exclude` or `source.require`.
    pub excluded: usize,
    /// Read, but gave no window (see `skipped`) or could not be read at all.
    pub skipped: usize,
    /// Gave at least one window.
    pub used: usize,
}

/// Songs per side of the split (songs with at least one window).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitCounts {
    pub train: usize,
    pub validation: usize,
}

/// Windows per side, and how many were cut before the density filters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowCounts {
    pub train: usize,
    pub validation: usize,
    /// Windows of whole bars cut before the density filters dropped any.
    pub before_filters: usize,
}

/// A file that gave no window, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// Relative to the datasets folder.
    pub path: String,
    /// One of `unreadable`, `no melody`, `no usable bars`, `no window passed the filters`.
    pub reason: String,
    /// The specific message (e.g. the MIDI reader's error).
    pub detail: String,
}

/// Reads a `stats.json`.
pub fn load_stats(path: &Path) -> Result<Stats, Error> {
    let text = std::fs::read_to_string(path).map_err(|err| Error::io(path, err))?;
    serde_json::from_str(&text)
        .map_err(|err| Error::corrupt(path, format!("not a stats.json: {err}")))
}
