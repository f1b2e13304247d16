//! Audio for Orchestrion: a composition is heard, not only seen. Renders a [`Song`] to a
//! 44.1 kHz stereo 16-bit WAV with a General MIDI SoundFont (through `rustysynth`), with
//! per-track stems, and humanizes performances for audio and MIDI export.
//!
//! # Layout
//! - [`soundfont`]: the SoundFont search order ([`SoundFontChoice`]) and loading.
//! - `schedule`: ticks → sample frames via the tempo map; tracks → synth lanes and channels
//!   (drums on MIDI channel 10).
//! - `engine`: one lane = one synth (SoundFont or built-in) driven by timed messages.
//! - `builtin`: the small built-in synth used when no SoundFont is installed.
//! - `limiter`: a look-ahead limiter so the file never clips.
//! - [`renderer`]: [`Renderer`], the streaming render loop, stems, atomic file writes.
//! - [`humanize()`]: velocity shaping, swing and timing offsets from a seed.
//! - [`analysis`]: level, peak and duration of rendered audio.
//!
//! # Use
//! ```no_run
//! # use orchestrion_render::{Renderer, RenderOptions};
//! # fn demo(song: &orchestrion_music::Song) -> Result<(), orchestrion_render::Error> {
//! let renderer = Renderer::new(RenderOptions::default())?; // loads the SoundFont once
//! if let Some(notice) = renderer.fallback_notice() {
//!     eprintln!("warning: {notice}");
//! }
//! let wav: Vec<u8> = renderer.render_wav(song)?;
//! # Ok(()) }
//! ```
//!
//! [`Song`]: orchestrion_music::Song

#![deny(missing_docs)]

pub mod analysis;
mod builtin;
mod engine;
mod error;
mod humanize;
mod limiter;
pub mod renderer;
mod schedule;
pub mod soundfont;

pub use analysis::Audio;
pub use error::{Error, ErrorKind};
pub use humanize::{HumanizeOptions, humanize};
pub use renderer::{Progress, RenderOptions, RenderReport, Renderer, render_to_file, render_wav};
pub use soundfont::{SOUNDFONT_ENV, SYSTEM_SOUNDFONTS, SoundFontChoice};
