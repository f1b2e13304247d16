//! The melody-conditioned multi-track GAN of Orchestrion: the generator writes the band parts
//! around a melody, the critic judges them.
//!
//! # Layout
//! - [`model`]: [`GanConfig`], [`Generator`], [`Critic`] (shapes in its docs).
//! - [`data`]: notes ⇄ the planes the networks read (per-role pitch windows, canvas masks).
//! - [`training`]: the training loop, checkpoints, `events.jsonl`, resume.
//! - [`inference`]: [`GenreModel`]: load a model folder and generate any length.
//! - [`store`]: the on-disk layout of a model (safetensors + `config.json`).

pub mod data;
pub mod error;
pub mod grid;
pub mod inference;
pub mod model;
pub mod rng;
pub mod store;
pub mod training;

pub use error::Error;
pub use inference::{GenerateOptions, Generation, GenreModel, ModelInfo, list_models};
pub use model::{Critic, GanConfig, Generator, SpectralState};
