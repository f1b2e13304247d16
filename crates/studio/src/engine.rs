//! The seam between the service and the crates that know music: loading genre models, reading
//! and writing MIDI, rendering audio. Nothing about HTTP is here, and nothing about music is
//! anywhere else in this crate.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use orchestrion_metrics::MetricsReport;
use orchestrion_model::{GenreModel, ModelInfo};
use orchestrion_music::{Grid, Note, PianoRoll, PlaneSpec, Song, TrackRole};
use orchestrion_render::{RenderOptions, Renderer, SoundFontChoice};
use serde::{Deserialize, Serialize};
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

/// The audio of a server: one [`Renderer`] (so one SoundFont in memory, parsed once at start)
/// shared by every WAV request, and a per-composition lock so that concurrent first requests
/// render a composition once, not once each.
pub struct Audio {
    /// The SoundFont (or built-in synth) and render options.
    renderer: Renderer,
    /// Compositions being rendered now, each with the lock its other requests wait on.
    rendering: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Renders done since start (tests and logs check that a stored WAV is reused).
    renders: AtomicU64,
}

impl Audio {
    /// Resolves and loads the SoundFont by the render crate's search order (an explicit file,
    /// then `$ORCHESTRION_SOUNDFONT`, then the system's GM SoundFonts, else the built-in
    /// synth). Blocking: parsing a full GM SoundFont takes a fraction of a second.
    pub fn load(soundfont: SoundFontChoice) -> Result<Audio, String> {
        let renderer = Renderer::new(RenderOptions {
            soundfont,
            ..RenderOptions::default()
        })
        .map_err(|e| e.to_string())?;
        match renderer.instrument().soundfont_path() {
            Some(path) => tracing::info!(soundfont = %path.display(), "audio renderer ready"),
            None => tracing::warn!("{}", renderer.fallback_notice().unwrap_or_default()),
        }
        Ok(Audio {
            renderer,
            rendering: Mutex::new(HashMap::new()),
            renders: AtomicU64::new(0),
        })
    }

    /// The SoundFont in use, `None` for the built-in synth.
    pub fn soundfont(&self) -> Option<&Path> {
        self.renderer.instrument().soundfont_path()
    }

    /// How many songs this server has rendered since it started.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// Holds the render lock of `key` (a composition id) until the guard drops.
    pub async fn lock(self: &Arc<Self>, key: &str) -> RenderGuard {
        let lock = {
            let mut map = self.rendering.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.to_string()).or_default().clone()
        };
        let guard = lock.clone().lock_owned().await;
        RenderGuard {
            audio: self.clone(),
            key: key.to_string(),
            lock,
            _guard: guard,
        }
    }

    /// Renders a song's mix to 16-bit WAV bytes. Blocking (CPU work).
    pub fn render_wav(&self, song: &Song) -> Result<Vec<u8>, Error> {
        let bytes = self
            .renderer
            .render_wav(song)
            .map_err(|e| Error::Internal(format!("rendering audio: {e}")))?;
        self.renders.fetch_add(1, Ordering::Relaxed);
        Ok(bytes)
    }
}

/// A held render lock; dropping it lets the next request for the same composition in (which
/// then finds the stored WAV) and forgets the lock when nobody else waits on it.
pub struct RenderGuard {
    audio: Arc<Audio>,
    key: String,
    lock: Arc<tokio::sync::Mutex<()>>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for RenderGuard {
    fn drop(&mut self) {
        let mut map = self
            .audio
            .rendering
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Three references when nobody waits: the map's, `lock` and the held guard's. Waiters
        // take theirs under the map's lock, so the count cannot grow while we look.
        if Arc::strong_count(&self.lock) <= 3 {
            map.remove(&self.key);
        }
    }
}

/// The headline numbers of a composition: each accompaniment metric is the mean over the
/// generated roles that define it (the names the console and the training charts use). A
/// metric no generated track defines is absent, never a made-up zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricsSummary {
    /// Empty-bar rate: fraction of bars in which nothing sounds.
    #[serde(rename = "EB", default, skip_serializing_if = "Option::is_none")]
    pub empty_bar_rate: Option<f64>,
    /// Used pitch classes per non-empty bar (pitched tracks).
    #[serde(rename = "UPC", default, skip_serializing_if = "Option::is_none")]
    pub used_pitch_classes: Option<f64>,
    /// Polyphonic rate: fraction of steps with two or more pitches sounding.
    #[serde(rename = "PR", default, skip_serializing_if = "Option::is_none")]
    pub polyphonic_rate: Option<f64>,
    /// Qualified-note rate: fraction of notes lasting three 16ths or more.
    #[serde(rename = "QN", default, skip_serializing_if = "Option::is_none")]
    pub qualified_note_rate: Option<f64>,
    /// Drum pattern: fraction of drum onsets on an 8th/16th grid.
    #[serde(rename = "DP", default, skip_serializing_if = "Option::is_none")]
    pub drum_pattern: Option<f64>,
    /// Fraction of notes in the song's best-fitting major/minor scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_scale: Option<f64>,
    /// Mean tonal distance between the melody and each pitched generated track.
    #[serde(rename = "TD", default, skip_serializing_if = "Option::is_none")]
    pub tonal_distance: Option<f64>,
    /// Share of the input melody's notes found unchanged in the output (1.0 = all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub melody_preserved: Option<f64>,
}

/// The metrics of one track of a composition; `null` where a metric is undefined for it (no
/// note, not a drum track, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoleMetrics {
    pub is_drum: bool,
    /// Notes that start in the measured bars.
    pub notes: usize,
    #[serde(rename = "EB")]
    pub empty_bar_rate: Option<f64>,
    #[serde(rename = "UPC")]
    pub used_pitch_classes: Option<f64>,
    #[serde(rename = "PR")]
    pub polyphonic_rate: Option<f64>,
    #[serde(rename = "QN")]
    pub qualified_note_rate: Option<f64>,
    #[serde(rename = "DP")]
    pub drum_pattern: Option<f64>,
    pub in_scale: Option<f64>,
    /// Shannon entropy (bits) of the pitch-class histogram.
    pub pitch_class_entropy: Option<f64>,
    /// 1 − mean Hamming distance between neighbouring bars' onset patterns.
    pub groove_consistency: Option<f64>,
}

/// The musical metrics of a finished composition, measured on the generated song itself (the
/// `metrics` crate's definitions, on the same binarized roll a model sees).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CompositionMetrics {
    /// Headline numbers (accompaniment means, TD, melody preserved).
    pub summary: MetricsSummary,
    /// Per track, by role name (`melody` included, as the reference the others follow).
    pub roles: BTreeMap<String, RoleMetrics>,
    /// Tonal distance between the melody and each pitched generated track, by role (lower =
    /// closer harmony); `null` where the two never sound in the same bar.
    pub tonal_distance: BTreeMap<String, Option<f64>>,
    /// The scale the in-scale rates were measured against, e.g. `"G major"`.
    pub scale: Option<String>,
    /// Bars measured (the composition's bars).
    pub bars: usize,
    /// Grid resolution of the measurement, steps per quarter note.
    pub steps_per_beat: u32,
}

/// Lowest pitch and pitch rows of the roll metrics are measured on (the models' 84-row roll;
/// GM drum notes fall inside it too).
const METRICS_LOWEST_PITCH: u8 = 24;
const METRICS_PITCHES: usize = 84;

/// Measures a generated song: every track (one plane per role), melody ↔ track tonal distance,
/// and whether `input_melody` survived unchanged. Only the first `bars` bars are measured
/// (the accompaniment's extent; a longer melody is copied through whole).
pub fn composition_metrics(
    input_melody: &[Note],
    song: &Song,
    steps_per_beat: u32,
    bars: usize,
) -> Result<CompositionMetrics, Error> {
    let mut roles: Vec<TrackRole> = song.tracks.iter().map(|t| t.role).collect();
    roles.sort();
    roles.dedup();
    let planes = PlaneSpec::by_role(song, &roles);
    let roll = PianoRoll::from_song(
        song,
        Grid::new(steps_per_beat),
        &planes,
        METRICS_LOWEST_PITCH,
        METRICS_PITCHES,
    )
    .map_err(|e| Error::Internal(format!("measuring the composition: {e}")))?;
    let measured = bars.min(roll.bar_steps.len());
    let roll = roll.slice_bars(0..measured);
    let report = orchestrion_metrics::evaluate(&roll)
        .map_err(|e| Error::Internal(format!("measuring the composition: {e}")))?;
    let preserved = orchestrion_metrics::melody_preserved(input_melody, song);
    Ok(metrics_of_report(&report, preserved.rate(), steps_per_beat))
}

fn metrics_of_report(
    report: &MetricsReport,
    melody_preserved: f64,
    steps_per_beat: u32,
) -> CompositionMetrics {
    use crate::melody::role_name;
    let generated: Vec<_> = report
        .tracks
        .iter()
        .filter(|t| t.role != TrackRole::Melody)
        .collect();
    let mean = |get: fn(&orchestrion_metrics::TrackMetrics) -> Option<f64>| {
        let values: Vec<f64> = generated
            .iter()
            .filter_map(|t| get(t))
            .filter(|v| v.is_finite())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let mut tonal_distance = BTreeMap::new();
    for t in generated.iter().filter(|t| !t.is_drum) {
        let td = report
            .pair(TrackRole::Melody, t.role)
            .and_then(|p| p.tonal_distance)
            .filter(|v| v.is_finite());
        tonal_distance.insert(role_name(t.role), td);
    }
    let defined: Vec<f64> = tonal_distance.values().flatten().copied().collect();
    let summary = MetricsSummary {
        empty_bar_rate: mean(|t| t.empty_bar_rate),
        used_pitch_classes: mean(|t| t.used_pitch_classes),
        polyphonic_rate: mean(|t| t.polyphonic_rate),
        qualified_note_rate: mean(|t| t.qualified_note_rate),
        drum_pattern: mean(|t| t.drum_pattern),
        in_scale: mean(|t| t.in_scale_rate),
        tonal_distance: (!defined.is_empty())
            .then(|| defined.iter().sum::<f64>() / defined.len() as f64),
        melody_preserved: Some(melody_preserved),
    };
    let roles = report
        .tracks
        .iter()
        .map(|t| {
            (
                role_name(t.role),
                RoleMetrics {
                    is_drum: t.is_drum,
                    notes: t.notes,
                    empty_bar_rate: t.empty_bar_rate,
                    used_pitch_classes: t.used_pitch_classes,
                    polyphonic_rate: t.polyphonic_rate,
                    qualified_note_rate: t.qualified_note_rate,
                    drum_pattern: t.drum_pattern,
                    in_scale: t.in_scale_rate,
                    pitch_class_entropy: t.pitch_class_entropy,
                    groove_consistency: t.groove_consistency,
                },
            )
        })
        .collect();
    CompositionMetrics {
        summary,
        roles,
        tonal_distance,
        scale: report.scale.map(|s| s.to_string()),
        bars: report.bars,
        steps_per_beat,
    }
}
