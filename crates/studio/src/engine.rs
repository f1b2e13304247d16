//! The seam between the service and the crates that know music: loading genre models, reading
//! and writing MIDI, rendering audio. Nothing about HTTP is here, and nothing about music is
//! anywhere else in this crate.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use orchestrion_model::{GenreModel, ModelInfo};
use orchestrion_music::Song;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::Error;

/// Where a model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelSource {
    /// Shipped in `models/` with the product.
    Shipped,
    /// Published from a training run on this server.
    Trained,
}

/// A genre model ready to generate, with what the API says about it.
pub struct LoadedModel {
    /// Name, roles, programs, meters, hash.
    pub info: ModelInfo,
    pub source: ModelSource,
    /// The whole `MODEL_CARD.md`, when the model has one.
    pub card: Option<String>,
    /// The model's evaluation report (`metrics.json` in its folder), when it has one.
    pub metrics: serde_json::Value,
    /// The networks. Immutable, so generation can run on several threads at once.
    pub model: GenreModel,
}

/// The models a server can compose with, by name.
#[derive(Default)]
pub struct ModelRegistry {
    /// Behind a lock because publishing a training run adds one while serving.
    models: RwLock<BTreeMap<String, Arc<LoadedModel>>>,
}

impl ModelRegistry {
    /// Loads one model folder.
    pub fn load_model(dir: &Path, source: ModelSource) -> Result<LoadedModel, String> {
        let model = GenreModel::load(dir).map_err(|e| e.to_string())?;
        let card = std::fs::read_to_string(dir.join("MODEL_CARD.md")).ok();
        let metrics = std::fs::read(dir.join("metrics.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(serde_json::Value::Null);
        Ok(LoadedModel {
            info: model.info().clone(),
            source,
            card,
            metrics,
            model,
        })
    }

    /// Loads every model folder under `dir` (one sub-folder with a `config.json` each). A broken
    /// model is logged and left out, so one bad folder does not keep the server down.
    pub fn load_dir(&self, dir: &Path, source: ModelSource) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else {
            tracing::warn!(dir = %dir.display(), "models folder not readable; no models from it");
            return 0;
        };
        let mut dirs: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("config.json").is_file())
            .collect();
        dirs.sort();
        let mut loaded = 0;
        for d in dirs {
            match Self::load_model(&d, source) {
                Ok(m) => {
                    tracing::info!(model = %m.info.name, hash = %m.info.hash, "model loaded");
                    self.insert(m);
                    loaded += 1;
                }
                Err(e) => tracing::error!(dir = %d.display(), error = %e, "model not loaded"),
            }
        }
        loaded
    }

    /// Adds (or replaces) a model.
    pub fn insert(&self, model: LoadedModel) {
        let mut map = self.models.write().unwrap_or_else(|p| p.into_inner());
        map.insert(model.info.name.clone(), Arc::new(model));
    }

    /// A model by name.
    pub fn get(&self, name: &str) -> Option<Arc<LoadedModel>> {
        let map = self.models.read().unwrap_or_else(|p| p.into_inner());
        map.get(name).cloned()
    }

    /// Every model, by name.
    pub fn list(&self) -> Vec<Arc<LoadedModel>> {
        let map = self.models.read().unwrap_or_else(|p| p.into_inner());
        map.values().cloned().collect()
    }

    /// How many models are loaded.
    pub fn len(&self) -> usize {
        self.models.read().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether no model is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads an uploaded Standard MIDI File with the music crate's limits for hostile input.
pub fn read_midi(bytes: &[u8]) -> Result<Song, Error> {
    Song::from_midi_bytes(bytes, &orchestrion_music::Limits::default())
        .map_err(|e| Error::InvalidMidi(format!("cannot read the MIDI file: {e}")))
}

/// Writes a song as a Standard MIDI File.
pub fn write_midi(song: &Song) -> Result<Vec<u8>, Error> {
    Ok(song.to_midi_bytes())
}

/// Renders a song to 16-bit WAV audio with the General MIDI SoundFont the render crate finds
/// (or its built-in synth when none is installed).
pub fn render_wav(song: &Song) -> Result<Vec<u8>, Error> {
    orchestrion_render::render_wav(song, &orchestrion_render::RenderOptions::default())
        .map_err(|e| Error::Internal(format!("rendering audio: {e}")))
}
