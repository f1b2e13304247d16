//! Chords as a layer of their own, between the melody and the band.
//!
//! The generator learned the key from the melody but not the chord changes; every practical
//! accompaniment system puts chords in between. This crate is where a chord is defined, once, for
//! the whole workspace.
//!
//! # Layout
//! - [`chord`]: [`Chord`] (root, [`Quality`], optional bass), symbols such as `F#m7`, `G/B`,
//!   `N.C.` parsed and printed.
//! - [`track`]: [`ChordTrack`], a chord per span of the step grid, laid out by
//!   [`HarmonicRhythm`] over bars of any meter; its JSON form.
//! - [`recognize`]: [`Recognizer`], the chords that played parts sound (templates over chroma,
//!   Viterbi smoothing).
//! - [`harmonizer`]: [`Harmonizer`], chords proposed for a bare melody (an HMM learned from a
//!   genre's recognized chords), the two baselines it must beat, and [`Accuracy`].
//! - [`leadsheet`]: the chord symbols of a MusicXML lead sheet, to measure against.
//!
//! # Conventions
//! - Notes are [`orchestrion_music::StepNote`]s on the caller's grid; spans count in the same
//!   steps.
//! - Pitch classes are 0 = C … 11 = B.

pub mod chord;
pub mod harmonizer;
pub mod leadsheet;
pub mod recognize;
pub mod track;

pub use chord::{Chord, PitchClass, Quality, SymbolError, parse_symbol, symbol};
pub use harmonizer::{
    Accuracy, Harmonizer, HarmonizerError, HarmonyExample, best_triad_per_bar, tonic_everywhere,
};
pub use recognize::{Chroma, Recognizer, reduce};
pub use track::{ChordSpan, ChordTrack, HarmonicRhythm, TrackError};
