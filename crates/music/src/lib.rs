//! The music data layer of Orchestrion: everything else stands on reading real MIDI correctly.
//!
//! # Layout
//! - [`song`]: [`Song`], [`Track`], [`Note`], [`TrackRole`], tempo and meter maps.
//! - `midi_read` / `midi_write`: Standard MIDI Files ⇄ [`Song`], with [`Limits`] for hostile input.
//! - [`grid`]: quantization to a step grid ([`Grid`]) and bars from the meter map ([`Bar`]).
//! - [`roll`]: [`PianoRoll`], the onset + sustain planes the model and metrics work on.
//! - [`window`]: windows of N whole bars with a hop ([`WindowSpan`]).
//! - [`key`]: key estimate (Krumhansl–Schmuckler), [`Key`].
//! - [`inspect`]: [`SongSummary`], what `orchestrion inspect` prints.
//!
//! # Conventions
//! - Time in a [`Song`] is in MIDI ticks at [`Song::ticks_per_beat`] (a beat is a quarter note).
//! - A grid has `steps_per_beat` steps per quarter note (4 = sixteenths by default, 12 for triplets).
//! - Pitches are MIDI note numbers; drums keep their General MIDI drum-map numbers.

pub mod error;
pub mod grid;
pub mod inspect;
pub mod key;
pub mod limits;
pub mod midi_read;
pub mod midi_write;
pub mod roles;
pub mod roll;
pub mod song;
pub mod window;

pub use error::{Error, ErrorKind};
pub use grid::{Bar, Grid, Pickup, StepNote};
pub use inspect::SongSummary;
pub use key::{Key, Mode, PitchClassHistogram};
pub use limits::Limits;
pub use roles::detect_role;
pub use roll::{PianoRoll, PlaneSpec, RollStats};
pub use song::{KeySignature, Meter, Note, Song, TempoChange, Track, TrackRole};
pub use window::WindowSpan;
