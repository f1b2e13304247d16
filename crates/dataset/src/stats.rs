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

impl Stats {
    /// The reference metrics as a Markdown table (one row per role, one column per metric, then
    /// the tonal distance of each pair), for `docs/datasets.md`.
    pub fn markdown_table(&self) -> String {
        use orchestrion_metrics::table::TRACK_METRICS;
        use std::fmt::Write;
        let cell = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{v:.3}"));
        let mut out = String::new();
        let _ = write!(out, "| role | bars | notes |");
        for column in TRACK_METRICS {
            let _ = write!(out, " {} |", column.short);
        }
        let _ = write!(out, "\n|---|---:|---:|");
        for _ in TRACK_METRICS {
            let _ = write!(out, "---:|");
        }
        out.push('\n');
        for track in &self.metrics.tracks {
            let _ = write!(
                out,
                "| {} | {} | {} |",
                crate::recipe::role_name(track.role),
                track.bars,
                track.notes
            );
            for column in TRACK_METRICS {
                let _ = write!(out, " {} |", cell((column.get)(track)));
            }
            out.push('\n');
        }
        if !self.metrics.pairs.is_empty() {
            let _ = write!(out, "\n| pair | bars | TD |\n|---|---:|---:|\n");
            for pair in &self.metrics.pairs {
                let _ = writeln!(
                    out,
                    "| {} ↔ {} | {} | {} |",
                    crate::recipe::role_name(pair.a),
                    crate::recipe::role_name(pair.b),
                    pair.bars,
                    cell(pair.tonal_distance)
                );
            }
        }
        out
    }

    /// One Markdown line of counts: files, songs, windows.
    pub fn markdown_counts(&self) -> String {
        let skipped = if self.skipped_by_reason.is_empty() {
            String::new()
        } else {
            let reasons: Vec<String> = self
                .skipped_by_reason
                .iter()
                .map(|(reason, n)| format!("{n} {reason}"))
                .collect();
            format!(" ({})", reasons.join(", "))
        };
        format!(
            "{} files found, {} excluded by the recipe, {} skipped{}; {} songs ({} train / {} validation); {} windows ({} train / {} validation).",
            self.files.found,
            self.files.excluded,
            self.files.skipped,
            skipped,
            self.files.used,
            self.songs.train,
            self.songs.validation,
            self.windows.train + self.windows.validation,
            self.windows.train,
            self.windows.validation,
        )
    }
}
