//! The melody-conditioned multi-track GAN of Orchestrion: the generator writes the band parts
//! around a melody, the critic judges them.
//!
//! # Layout
//! - [`model`]: [`GanConfig`], [`Generator`], [`Critic`] (shapes in its docs).
//! - [`data`]: notes ⇄ the planes the networks read (per-role pitch windows, canvas masks).
//! - [`training`]: the training loop, checkpoints, `events.jsonl`, resume.
//! - [`inference`]: [`GenreModel`]: load a model folder and generate any length.
//! - [`decode`]: probabilities → notes, with per-role thresholds and polyphony caps.
//! - [`key`]: the melody's key, and the shift that puts the networks' work in C major / A minor.
//! - [`seams`]: note density and harmony at window borders against inside windows.
//! - [`calibrate`]: per-role decoding chosen to match the data's density and note lengths.
//! - [`quality`]: a model's report on validation melodies against every target of its issue.
//! - [`store`]: the on-disk layout of a model (safetensors + `config.json`).

pub mod calibrate;
pub mod data;
pub mod decode;
pub mod error;
pub mod grid;
pub mod inference;
pub mod key;
pub mod model;
pub mod quality;
pub mod rng;
pub mod seams;
pub mod store;
pub mod training;

pub use error::Error;
pub use inference::{GenerateOptions, Generation, GenreModel, ModelInfo, list_models};
pub use model::{Critic, GanConfig, Generator, SpectralState};
