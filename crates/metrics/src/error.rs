//! Errors of the metrics crate: a roll whose shape does not add up cannot be measured.

/// Why a piano roll could not be measured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The roll's planes, bars or pitch window contradict its declared dimensions.
    #[error("invalid piano roll: {0}")]
    InvalidRoll(String),
}
