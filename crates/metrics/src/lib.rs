//! Musical quality metrics for Orchestrion: how a generated arrangement compares with the music a
//! model was trained on, measured on the same binarized piano rolls the model sees.
//!
//! # Layout
//! - [`evaluate`] / [`evaluate_in_scale`]: one [`MetricsReport`] for a [`PianoRoll`] (per track
//!   and per pair of tracks); [`MetricsAccumulator`] averages reports over many rolls.
//! - One metric per module, each citing its paper: [`empty_bar`], [`pitch_classes`],
//!   [`polyphony`], [`qualified_note`], [`drum_pattern`], [`in_scale`], [`entropy`], [`groove`],
//!   [`tonal_distance`].
//! - [`melody`]: whether the input melody survives unchanged in an output song.
//! - [`table`]: the text tables (`Display` for a report, [`compare_table`] against a reference).
//! - [`muspy`]: adapters that compute the muspy library's definitions with our metric code, so
//!   the agreement test can compare both implementations on real files.
//!
//! # Conventions
//! - A metric that is undefined for a track (no note, no bar, not a drum track, ...) is `None`,
//!   never NaN, so reports serialize to plain JSON and averages skip it.
//! - "Sounding" cells are the roll's sustain plane (plus onset cells); "notes" start at the onset
//!   plane's cells, and where a sustain run begins without an onset, and last while the sustain
//!   plane stays set without a new onset of the same pitch: the notes the music crate exports.
//! - Bars are the roll's own `bar_steps` (the song's meter), not a fixed 4/4 grid.

#![deny(missing_docs)]

pub mod drum_pattern;
pub mod empty_bar;
pub mod entropy;
mod error;
pub mod groove;
pub mod in_scale;
pub mod melody;
pub mod muspy;
pub mod pitch_classes;
pub mod polyphony;
pub mod qualified_note;
mod report;
pub mod table;
pub mod tonal_distance;
pub mod view;

pub use error::Error;
pub use in_scale::Scale;
pub use melody::{MelodyPreservation, melody_preserved};
pub use report::{MetricsAccumulator, MetricsReport, PairMetrics, TrackMetrics};
pub use table::compare_table;

use orchestrion_music::PianoRoll;
use view::TrackView;

/// Measures every track of `roll` and every pair of tracks. The in-scale rate uses the
/// best-fitting major/minor scale of all pitched tracks of the roll together.
pub fn evaluate(roll: &PianoRoll) -> Result<MetricsReport, Error> {
    let views = TrackView::all_from_roll(roll)?;
    let scale = in_scale::best_scale(&in_scale::pitch_class_histogram(
        views.iter().filter(|v| !v.is_drum),
    ));
    Ok(report::build(roll, &views, scale))
}

/// Like [`evaluate`], but the in-scale rate uses a scale known from elsewhere (e.g. estimated on
/// the whole song rather than on one window).
pub fn evaluate_in_scale(roll: &PianoRoll, scale: Scale) -> Result<MetricsReport, Error> {
    let views = TrackView::all_from_roll(roll)?;
    Ok(report::build(roll, &views, Some(scale)))
}
