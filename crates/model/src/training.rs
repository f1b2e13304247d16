//! The training loop: hinge-loss GAN with a spectrally normalized critic, plus a small
//! reconstruction term, checkpoints that resume bit-exactly, and an `events.jsonl` log.
//!
//! Every random draw (batch indices, transposition, canvas masks, noise) comes from
//! [`Rng::derive`]`(seed, purpose, step)`, so the run is a pure function of the seed and the
//! step: a resumed run draws exactly what the uninterrupted one would have drawn, and the
//! checkpoint only has to hold weights, optimizer moments, the critic's power-iteration vectors
//! and the step.
//!
//! Why a reconstruction term: with melody-only conditioning the hinge loss alone needs far more
//! steps than the 45-minute budget allows before the parts follow the melody's harmony. A
//! binary cross-entropy between the generator's logits and the real parts (on the cells the
//! canvas hides), weighted by `recon_weight`, gives it a direct signal from the first step; the
//! adversarial term keeps its output sharp and varied. Set `recon_weight = 0` for a pure GAN.

use crate::data::{self, Batch, Example, GridNote, Layout};
use crate::error::Error;
use crate::inference::GenreModel;
use crate::key;
use crate::model::{Critic, GanConfig, Generator, SpectralState};
use crate::rng::Rng;
use crate::store::{self, write_atomic};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, relu, sigmoid};
use orchestrion_dataset::{Dataset, DatasetMeta, Window, WindowNote};
use orchestrion_metrics::{MetricsAccumulator, MetricsReport};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Hyper-parameters of a run. Stored in the checkpoint so `--resume` continues the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Total steps of the run (a resumed run may raise it).
    pub steps: u64,
    pub batch: usize,
    /// Adam learning rate of both networks.
    pub lr: f64,
    /// Critic updates per generator update.
    pub critic_updates: u32,
    pub seed: u64,
    /// Checkpoint, metrics and samples every this many steps.
    pub eval_every: u64,
    /// Weight of the reconstruction term in the generator loss.
    pub recon_weight: f32,
    /// Weight of positive cells in the reconstruction term (notes are sparse).
    pub positive_weight: f32,
    /// Validation windows used for metrics and samples.
    pub eval_windows: usize,
    pub channels: usize,
    pub beat_channels: usize,
    pub critic_channels: usize,
    pub latent: usize,
    /// Swing written into the model's config (see [`GanConfig::swing`]); training ignores it.
    #[serde(default)]
    pub swing: f32,
    /// A model folder whose trained weights the run starts from instead of random ones
    /// ([`GanConfig::transfer`]): the roles both have keep what they learned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_from: Option<PathBuf>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            steps: 2000,
            batch: 32,
            lr: 2e-4,
            critic_updates: 1,
            seed: 1,
            eval_every: 200,
            recon_weight: 1.0,
            positive_weight: 4.0,
            eval_windows: 32,
            channels: 64,
            beat_channels: 96,
            critic_channels: 48,
            latent: 32,
            swing: 0.0,
            init_from: None,
        }
    }
}

/// The losses of one step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepLosses {
    pub step: u64,
    /// Generator loss: adversarial + weighted reconstruction.
    pub g_loss: f32,
    pub g_adv: f32,
    pub recon: f32,
    /// Critic hinge loss, and its real and fake parts.
    pub d_loss: f32,
    pub d_real: f32,
    pub d_fake: f32,
    pub lr_g: f64,
    pub lr_d: f64,
    pub millis: f64,
}

/// Metrics of generated output on the fixed validation melodies against the data's reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub step: u64,
    pub generated: MetricsReport,
    pub reference: MetricsReport,
    /// Mean relative distance of the accompaniment metrics to the reference (lower is better).
    pub distance: f64,
}

#[derive(Serialize, Deserialize)]
struct TrainState {
    step: u64,
    options: TrainOptions,
    spectral: SpectralState,
}

const CHECKPOINT: &str = "checkpoint";
const STATE: &str = "state.json";
const EVENTS: &str = "events.jsonl";

/// One training run in `out`.
pub struct Trainer {
    pub config: GanConfig,
    pub options: TrainOptions,
    meta: DatasetMeta,
    layout: Layout,
    train: Vec<Window>,
    eval: Vec<Window>,
    reference: Option<MetricsReport>,
    out: PathBuf,
    device: Device,
    generator: Generator,
    critic: Critic,
    spectral: SpectralState,
    optim_g: ModuleOptimizer,
    optim_d: ModuleOptimizer,
    step: u64,
}

/// The model config a dataset and options call for.
pub fn config_for(meta: &DatasetMeta, options: &TrainOptions) -> GanConfig {
    GanConfig {
        name: meta.name.clone(),
        roles: meta.roles.clone(),
        programs: meta.programs.clone(),
        steps_per_beat: meta.steps_per_beat,
        window_bars: meta.window_bars,
        max_window_steps: meta.max_window_steps,
        pitch_ranges: meta.pitch_ranges.clone(),
        meters: meta.meters.clone(),
        recipe_hash: meta.recipe_hash.clone(),
        channels: options.channels,
        beat_channels: options.beat_channels,
        critic_channels: options.critic_channels,
        latent: options.latent,
        onset_threshold: 0.5,
        sustain_threshold: 0.5,
        decoding: Vec::new(),
        key_normalized: true,
        swing: options.swing,
    }
}

fn grid_notes(notes: &[WindowNote]) -> Vec<GridNote> {
    notes
        .iter()
        .map(|n| GridNote {
            role: n.track as usize,
            pitch: n.pitch,
            velocity: n.velocity,
            start: n.start as u32,
            duration: n.duration as u32,
        })
        .collect()
}

/// Make glibc's allocator keep freed tensor buffers for reuse instead of returning them to the
/// kernel. Every operation of a training step allocates a fresh buffer of up to a few MiB;
/// with glibc's defaults each one is a new `mmap` whose pages fault in one by one (measured:
/// 370,000 page faults and 15% more CPU time in 17 pop-sized steps, 13–19% of the profile in
/// the kernel). The cost is that up to `TRIM` bytes of freed memory stay with the process.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory_for_reuse() {
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_TOP_PAD: i32 = -2;
    const M_MMAP_THRESHOLD: i32 = -3;
    const TRIM: i32 = 512 << 20;
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: mallopt only changes the allocator's tuning parameters (under its own lock);
        // the values are within the ranges glibc documents, and a refusal (0) is harmless.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 64 << 20);
            mallopt(M_TRIM_THRESHOLD, TRIM);
            mallopt(M_TOP_PAD, 16 << 20);
        }
    });
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory_for_reuse() {}

fn optimizer(lr: f64) -> ModuleOptimizer {
    let _ = lr;
    AdamConfig::new().with_beta_1(0.5).with_beta_2(0.9).init()
}

impl Trainer {
    /// Start a run in `out` (which must not hold a checkpoint), or continue the one there.
    pub fn new(
        dataset: Dataset,
        reference: Option<MetricsReport>,
        out: &Path,
        options: TrainOptions,
        resume: bool,
    ) -> Result<Trainer, Error> {
        if dataset.train.is_empty() {
            return Err(Error::Dataset("the dataset has no training windows".into()));
        }
        keep_freed_memory_for_reuse();
        let checkpoint = out.join(CHECKPOINT);
        let device = Device::flex().autodiff();
        let mut eval: Vec<Window> = if dataset.validation.is_empty() {
            dataset.train.clone()
        } else {
            dataset.validation.clone()
        };
        // Evenly spread, fixed validation melodies: the same ones at every evaluation.
        let stride = (eval.len() / options.eval_windows.max(1)).max(1);
        eval = eval
            .into_iter()
            .step_by(stride)
            .take(options.eval_windows.max(1))
            .collect();
        let (config, options, generator, critic, spectral, optim_g, optim_d, step) = if resume {
            let state_path = checkpoint.join(STATE);
            let text = std::fs::read(&state_path).map_err(|e| Error::Checkpoint {
                path: state_path.clone(),
                reason: format!("nothing to resume: {e}"),
            })?;
            let state: TrainState =
                serde_json::from_slice(&text).map_err(|e| Error::Checkpoint {
                    path: state_path.clone(),
                    reason: e.to_string(),
                })?;
            let config = store::read_config(&checkpoint)?;
            let (g, c) = config.init(0, &device);
            let load_err = |p: PathBuf| {
                move |e: burn::store::RecordError| Error::Checkpoint {
                    path: p,
                    reason: e.to_string(),
                }
            };
            let g = g
                .try_load_file(checkpoint.join("generator.bpk"))
                .map_err(load_err(checkpoint.join("generator.bpk")))?;
            let c = c
                .try_load_file(checkpoint.join("critic.bpk"))
                .map_err(load_err(checkpoint.join("critic.bpk")))?;
            let og = optimizer(state.options.lr)
                .load(checkpoint.join("optim_g.bpk"))
                .map_err(load_err(checkpoint.join("optim_g.bpk")))?;
            let od = optimizer(state.options.lr)
                .load(checkpoint.join("optim_d.bpk"))
                .map_err(load_err(checkpoint.join("optim_d.bpk")))?;
            let mut resumed = state.options;
            resumed.steps = resumed.steps.max(options.steps);
            (config, resumed, g, c, state.spectral, og, od, state.step)
        } else {
            if checkpoint.exists() {
                return Err(Error::Checkpoint {
                    path: checkpoint,
                    reason:
                        "this run already has a checkpoint: pass --resume, or choose another --out"
                            .into(),
                });
            }
            let config = config_for(&dataset.meta, &options);
            let fresh = config.init(options.seed, &device);
            let (g, c) = match &options.init_from {
                None => fresh,
                Some(dir) => {
                    let (old, generator, critic, _) = store::load_model(dir, &device)?;
                    config
                        .transfer(fresh, &old, &generator, &critic)
                        .map_err(|reason| Error::Invalid(format!("{}: {reason}", dir.display())))?
                }
            };
            let spectral = SpectralState::new(&c, options.seed);
            (
                config,
                options.clone(),
                g,
                c,
                spectral,
                optimizer(options.lr),
                optimizer(options.lr),
                0,
            )
        };
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let trainer = Trainer {
            layout: config.layout(),
            config,
            options,
            meta: dataset.meta,
            train: dataset.train,
            eval,
            reference,
            out: out.to_path_buf(),
            device,
            generator,
            critic,
            spectral,
            optim_g,
            optim_d,
            step,
        };
        trainer.truncate_events()?;
        Ok(trainer)
    }

    pub fn step(&self) -> u64 {
        self.step
    }

    /// Keep only the events up to the checkpoint's step, so a resumed log reads like an
    /// uninterrupted one.
    fn truncate_events(&self) -> Result<(), Error> {
        let path = self.out.join(EVENTS);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(());
        };
        let kept: String = text
            .lines()
            .filter(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                    .is_some_and(|s| s <= self.step)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        write_atomic(&path, kept.as_bytes())
    }

    fn append_event(&self, event: &serde_json::Value) -> Result<(), Error> {
        let path = self.out.join(EVENTS);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        writeln!(file, "{event}").map_err(|e| Error::io(&path, e))
    }

    /// A random training example: window, transposition and canvas drawn from `rng`.
    fn example(&self, rng: &mut Rng) -> Example {
        let window = &self.train[rng.below(self.train.len())];
        let notes = grid_notes(&window.notes);
        let (lo, hi) = self.meta.transpose;
        let transpose = if self.config.key_normalized {
            // The same key estimate generation makes, on the melody generation would see.
            key::shift_to_c(&notes)
        } else if hi > lo {
            lo as i32 + rng.below((hi - lo) as usize + 1) as i32
        } else {
            lo as i32
        };
        let valid = (window.steps() as usize).min(self.layout.steps);
        let first_bar = window.bar_steps.first().copied().unwrap_or(0) as usize;
        let canvas = data::random_canvas(&self.layout, first_bar, rng);
        Example {
            roll: data::rasterize(&self.layout, valid, &notes, transpose),
            known: data::known_plane(&self.layout, valid, canvas),
            position: data::position_planes(&self.layout, &window.bar_steps),
            valid_steps: valid,
            bar_steps: window.bar_steps.clone(),
        }
    }

    /// A batch and its noise, drawn from `(seed, stream, step)`. Channel-major, like the
    /// networks' activations, and built on the plain (inner) device: the planes are constants
    /// of the losses, so they need no autodiff bookkeeping.
    fn batch(&self, stream: u64) -> (Batch, Tensor<2>) {
        let mut rng = Rng::derive(self.options.seed, stream, self.step);
        let examples: Vec<Example> = (0..self.options.batch)
            .map(|_| self.example(&mut rng))
            .collect();
        let device = self.device.clone().inner();
        let batch = Batch::channel_major(&self.layout, &examples, &device);
        let z: Vec<f32> = (0..self.options.batch * self.config.latent)
            .map(|_| rng.normal())
            .collect();
        let z = Tensor::from_data(
            TensorData::new(z, [self.options.batch, self.config.latent]),
            &device,
        );
        (batch, z)
    }

    /// One generator update preceded by `critic_updates` critic updates.
    pub fn train_step(&mut self) -> StepLosses {
        let started = Instant::now();
        let lr = self.options.lr;
        let (mut d_loss, mut d_real, mut d_fake) = (0.0, 0.0, 0.0);
        for k in 0..self.options.critic_updates {
            let (batch, z) = self.batch(0x100 + k as u64);
            // The critic learns from a constant fake: the generator runs without a graph.
            let fake = sigmoid(
                self.generator
                    .valid()
                    .forward_channel_major(batch.canvas_channel_major(), z),
            );
            let fake = batch.paste(fake);
            let real_score = self.critic.forward_channel_major(
                batch.roll.clone(),
                batch.side.clone(),
                &mut self.spectral,
            );
            let fake_score =
                self.critic
                    .forward_channel_major(fake, batch.side.clone(), &mut self.spectral);
            let real_part = relu(real_score.neg() + 1.0).mean();
            let fake_part = relu(fake_score + 1.0).mean();
            let loss = real_part.clone() + fake_part.clone();
            d_real = real_part.into_scalar::<f32>();
            d_fake = fake_part.into_scalar::<f32>();
            d_loss = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &self.critic);
            let critic = self.critic.clone();
            self.critic = self.optim_d.step(lr, critic, grads);
        }
        let (batch, z) = self.batch(0x200);
        let logits = self
            .generator
            .forward_channel_major(batch.canvas_channel_major(), z);
        let full = batch.paste(sigmoid(logits.clone()));
        // Only the generator is updated here: a critic without gradients spares the backward
        // pass its weight gradients (its power iteration still advances, as in every forward).
        let adv = self
            .critic
            .clone()
            .no_grad()
            .forward_channel_major(full, batch.side.clone(), &mut self.spectral)
            .mean()
            .neg();
        // Binary cross-entropy with logits on the hidden cells, positives weighted up:
        // softplus(l) − l·t = l·(1 − t) − log σ(l), with the weights and the normalizer
        // computed on constants.
        let target = batch.roll.clone();
        let bce = logits.clone() * (target.clone().neg() + 1.0) - log_sigmoid(logits);
        let weight = (target * (self.options.positive_weight - 1.0) + 1.0) * batch.hidden.clone();
        let cells = batch.hidden.clone().sum().into_scalar::<f32>() + 1.0;
        let recon = (bce * weight).sum() / cells;
        let loss = adv.clone() + recon.clone() * self.options.recon_weight;
        let g_adv = adv.into_scalar::<f32>();
        let recon_value = recon.into_scalar::<f32>();
        let g_loss = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &self.generator);
        let generator = self.generator.clone();
        self.generator = self.optim_g.step(lr, generator, grads);
        self.step += 1;
        StepLosses {
            step: self.step,
            g_loss,
            g_adv,
            recon: recon_value,
            d_loss,
            d_real,
            d_fake,
            lr_g: lr,
            lr_d: lr,
            millis: started.elapsed().as_secs_f64() * 1000.0,
        }
    }

    /// A model on the plain device from the current weights (for metrics and samples).
    pub fn snapshot(&self) -> GenreModel {
        GenreModel::from_parts(
            self.config.clone(),
            self.generator.valid(),
            self.critic.valid(),
            self.spectral.clone(),
            format!("step-{}", self.step),
        )
    }

    /// Generate for the fixed validation melodies and measure the result.
    pub fn evaluate(&self) -> Result<Evaluation, Error> {
        let model = self.snapshot();
        let mut generated = MetricsAccumulator::new();
        let mut real = MetricsAccumulator::new();
        for (i, window) in self.eval.iter().enumerate() {
            let melody: Vec<GridNote> = grid_notes(&window.notes)
                .into_iter()
                .filter(|n| n.role == 0)
                .collect();
            let notes = model.fill_window(&window.bar_steps, &melody, self.options.seed ^ i as u64);
            let mut out = window.clone();
            out.notes = notes
                .iter()
                .chain(melody.iter())
                .map(|n| WindowNote {
                    track: n.role as u8,
                    pitch: n.pitch,
                    velocity: n.velocity.max(1),
                    start: n.start as u16,
                    duration: n.duration.min(u16::MAX as u32) as u16,
                })
                .collect();
            let roll = out.to_roll(&self.meta, 0);
            if let Ok(report) = orchestrion_metrics::evaluate(&roll) {
                generated.add(&report);
            }
            if let Ok(report) = orchestrion_metrics::evaluate(&window.to_roll(&self.meta, 0)) {
                real.add(&report);
            }
        }
        let generated = generated.finish();
        let reference = self.reference.clone().unwrap_or_else(|| real.finish());
        let distance = metric_distance(&generated, &reference);
        Ok(Evaluation {
            step: self.step,
            generated,
            reference,
            distance,
        })
    }

    /// Write the checkpoint atomically: a complete folder is renamed into place.
    pub fn save_checkpoint(&self) -> Result<PathBuf, Error> {
        let dir = self.out.join(CHECKPOINT);
        let tmp = self.out.join("checkpoint.tmp");
        let old = self.out.join("checkpoint.old");
        let _ = std::fs::remove_dir_all(&tmp);
        store::save_model(
            &tmp,
            &self.config,
            &self.generator.valid(),
            &self.critic.valid(),
            &self.spectral,
        )?;
        let err = |p: PathBuf| {
            move |e: burn::store::RecordError| Error::Checkpoint {
                path: p,
                reason: e.to_string(),
            }
        };
        self.generator
            .clone()
            .save_file(tmp.join("generator.bpk"))
            .map_err(err(tmp.clone()))?;
        self.critic
            .clone()
            .save_file(tmp.join("critic.bpk"))
            .map_err(err(tmp.clone()))?;
        self.optim_g
            .save(tmp.join("optim_g.bpk"))
            .map_err(err(tmp.clone()))?;
        self.optim_d
            .save(tmp.join("optim_d.bpk"))
            .map_err(err(tmp.clone()))?;
        let state = TrainState {
            step: self.step,
            options: self.options.clone(),
            spectral: self.spectral.clone(),
        };
        write_atomic(
            &tmp.join(STATE),
            &serde_json::to_vec_pretty(&state).expect("state serializes"),
        )?;
        let _ = std::fs::remove_dir_all(&old);
        if dir.exists() {
            std::fs::rename(&dir, &old).map_err(|e| Error::io(&dir, e))?;
        }
        std::fs::rename(&tmp, &dir).map_err(|e| Error::io(&dir, e))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(dir)
    }

    /// Train until `options.steps` or until `stop` is set; checkpoint, evaluate and write
    /// samples every `eval_every` steps and at the end. `on_step` sees every step's losses.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        on_step: &mut dyn FnMut(&StepLosses),
        on_eval: &mut dyn FnMut(&Evaluation),
    ) -> Result<(), Error> {
        if self.step == 0 {
            let evaluation = self.evaluate()?;
            self.append_event(
                &serde_json::json!({"kind": "eval", "step": 0, "evaluation": evaluation}),
            )?;
            on_eval(&evaluation);
        }
        let mut saved_at = self
            .out
            .join(CHECKPOINT)
            .join(STATE)
            .is_file()
            .then_some(self.step);
        while self.step < self.options.steps && !stop.load(Ordering::SeqCst) {
            let losses = self.train_step();
            let mut event = serde_json::to_value(losses).expect("losses serialize");
            event["kind"] = "step".into();
            self.append_event(&event)?;
            on_step(&losses);
            if self.step.is_multiple_of(self.options.eval_every.max(1))
                || self.step == self.options.steps
            {
                self.checkpoint_and_evaluate(on_eval)?;
                saved_at = Some(self.step);
            }
        }
        if saved_at != Some(self.step) {
            // Stopped early (Ctrl-C), even before the first step: keep what was learned, so
            // `--resume` always has a checkpoint at the step the log ends on.
            self.save_checkpoint()?;
        }
        Ok(())
    }

    fn checkpoint_and_evaluate(
        &mut self,
        on_eval: &mut dyn FnMut(&Evaluation),
    ) -> Result<(), Error> {
        self.save_checkpoint()?;
        let evaluation = self.evaluate()?;
        self.append_event(
            &serde_json::json!({"kind": "eval", "step": self.step, "evaluation": evaluation}),
        )?;
        on_eval(&evaluation);
        self.write_samples()?;
        Ok(())
    }

    /// Sample MIDI files of the first validation melodies, as a person would hear them.
    fn write_samples(&self) -> Result<(), Error> {
        let dir = self.out.join("samples");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let model = self.snapshot();
        for (i, window) in self.eval.iter().take(2).enumerate() {
            let song = window_song(&self.meta, window);
            let options = crate::GenerateOptions {
                seed: self.options.seed,
                ..Default::default()
            };
            if let Ok(generation) = model.generate(&song, &options) {
                let path = dir.join(format!("step-{:06}-{i}.mid", self.step));
                write_atomic(&path, &generation.song.to_midi_bytes())?;
            }
        }
        Ok(())
    }
}

/// A song holding only the melody of a window (480 ticks per beat, the window's meter).
pub fn window_song(meta: &DatasetMeta, window: &Window) -> orchestrion_music::Song {
    use orchestrion_music::{Meter, Note, Song, TempoChange, Track, TrackRole};
    let tpb = 480u64;
    let spb = meta.steps_per_beat as u64;
    let bar = window.bar_steps.first().copied().unwrap_or(16) as u64;
    // Meter from the bar length: quarter-note meters when the bar is whole beats, else eighths.
    let (numerator, denominator) =
        if bar.is_multiple_of(spb) && meta.meters.iter().all(|m| m.1 == 4) {
            ((bar / spb) as u8, 4)
        } else {
            meta.meters
                .iter()
                .copied()
                .find(|&(n, d)| n as u64 * spb * 4 / d as u64 == bar)
                .unwrap_or(((bar * 2 / spb) as u8, 8))
        };
    let notes = window
        .notes
        .iter()
        .filter(|n| n.track == 0)
        .map(|n| Note {
            pitch: n.pitch,
            velocity: n.velocity.max(1),
            start: n.start as u64 * tpb / spb,
            duration: (n.duration.max(1) as u64 * tpb / spb).max(1),
        })
        .collect();
    Song {
        ticks_per_beat: tpb as u16,
        tempos: vec![TempoChange {
            tick: 0,
            micros_per_beat: 500_000,
        }],
        meters: vec![Meter {
            tick: 0,
            numerator,
            denominator,
        }],
        key_signatures: vec![],
        tracks: vec![Track {
            name: "Melody".into(),
            program: meta.programs.first().copied().unwrap_or(0),
            channel: 0,
            is_drum: false,
            role: TrackRole::Melody,
            notes,
        }],
        texts: vec![],
    }
}

/// Mean relative distance between the accompaniment metrics of two reports (roles after the
/// melody): |generated − reference| / max(|reference|, 0.05), averaged over every metric both
/// define, plus notes per bar.
pub fn metric_distance(generated: &MetricsReport, reference: &MetricsReport) -> f64 {
    let mut sum = 0.0;
    let mut count = 0usize;
    for r in reference
        .tracks
        .iter()
        .filter(|t| t.role != orchestrion_music::TrackRole::Melody)
    {
        let Some(g) = generated.track(r.role) else {
            continue;
        };
        let pairs = [
            (g.empty_bar_rate, r.empty_bar_rate),
            (g.used_pitch_classes, r.used_pitch_classes),
            (g.polyphonic_rate, r.polyphonic_rate),
            (g.qualified_note_rate, r.qualified_note_rate),
            (g.drum_pattern, r.drum_pattern),
            (g.in_scale_rate, r.in_scale_rate),
            (
                Some(g.notes as f64 / g.bars.max(1) as f64),
                Some(r.notes as f64 / r.bars.max(1) as f64),
            ),
        ];
        for (a, b) in pairs {
            if let (Some(a), Some(b)) = (a, b) {
                sum += (a - b).abs() / b.abs().max(0.05);
                count += 1;
            }
        }
    }
    if count == 0 {
        f64::INFINITY
    } else {
        sum / count as f64
    }
}
