//! The music data layer of Orchestrion: everything else stands on reading real MIDI correctly.
//!
//! # Layout
//! - [`song`]: [`Song`], [`Track`], [`Note`], [`TrackRole`], tempo and meter maps.
//! - `midi_read` / `midi_write`: Standard MIDI Files ⇄ [`Song`], with [`Limits`] for hostile input.
//! - `grid`: quantization to a step grid and bar boundaries from the meter map.
//! - [`roll`]: [`PianoRoll`], the onset + sustain planes the model and metrics work on.
//!
//! # Conventions
//! - Time in a [`Song`] is in MIDI ticks at [`Song::ticks_per_beat`] (a beat is a quarter note).
//! - A grid has `steps_per_beat` steps per quarter note (4 = sixteenths by default, 12 for triplets).
//! - Pitches are MIDI note numbers; drums keep their General MIDI drum-map numbers.

pub mod error;
pub mod limits;
pub mod midi_read;
pub mod midi_write;
pub mod roles;
pub mod roll;
pub mod song;

pub use error::{Error, ErrorKind};
pub use limits::Limits;
pub use roles::detect_role;
pub use roll::PianoRoll;
pub use song::{KeySignature, Meter, Note, Song, TempoChange, Track, TrackRole};
