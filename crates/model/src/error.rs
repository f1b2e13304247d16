//! Errors of the model crate: each one names what a user can fix (a path, a meter, a melody).

use std::path::PathBuf;

/// Anything that can go wrong loading, training or running a genre model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("no model in {path}: {reason}")]
    UnknownModel { path: PathBuf, reason: String },
    #[error(
        "the melody is in {numerator}/{denominator} at bar {bar}: its bars are longer than any this model was trained on ({known}), so they do not fit its windows"
    )]
    UnknownMeter {
        numerator: u8,
        denominator: u8,
        bar: u32,
        known: String,
    },
    #[error("the melody is empty: no notes to accompany")]
    EmptyMelody,
    #[error("the melody is too long: {bars} bars (the limit is {limit})")]
    TooLong { bars: u32, limit: u32 },
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("dataset: {0}")]
    Dataset(String),
    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("music: {0}")]
    Music(#[from] orchestrion_music::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
