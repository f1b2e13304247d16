//! Generation: a loaded genre model writes the band parts around a melody of any length.
//!
//! A song is cut into windows of `window_bars` bars that overlap by one bar. The first window
//! sees only the melody; every later one also sees the previous window's last bar of
//! accompaniment as known cells of its canvas, so it continues what was played (no seams). All
//! windows share one song-level latent. `candidates` full songs are drawn with different seeds
//! and ranked by the critic; the winner's seed and the model hash are written into the MIDI.

use crate::data::{self, Batch, Canvas, Example, GridNote, Layout};
use crate::decode::{self, RoleDecoding};
use crate::error::Error;
use crate::grid::{self, Bar};
use crate::key;
use crate::model::{Critic, GanConfig, Generator, SpectralState};
use crate::rng::Rng;
use crate::store;
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use orchestrion_music::grid::swing_span;
use orchestrion_music::{Note, Song, Track, TrackRole};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The longest melody generation accepts, in bars.
pub const MAX_BARS: u32 = 512;
/// The most candidates one request may ask for.
pub const MAX_CANDIDATES: u32 = 16;

/// What a model is, for listings and for the studio's model page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub dir: PathBuf,
    pub roles: Vec<TrackRole>,
    pub programs: Vec<u8>,
    pub meters: Vec<(u8, u8)>,
    pub steps_per_beat: u32,
    pub window_bars: u32,
    /// Identifies the exact weights; written into every generated MIDI file.
    pub hash: String,
    /// The first paragraph of `MODEL_CARD.md`, if there is one.
    pub card_summary: Option<String>,
    pub parameters: usize,
}

/// How to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Bars to write; `None` = as many as the melody spans.
    pub bars: Option<u32>,
    pub seed: u64,
    /// Songs drawn and ranked by the critic (at least 1).
    pub candidates: u32,
    /// Keep these roles exactly as they are in the given song, and write the others around them.
    pub lock: Option<(Song, Vec<TrackRole>)>,
    /// Swing of the written parts, 0.0 – 0.5 (see [`GanConfig::swing`]); `None` = the model's.
    pub swing: Option<f32>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            bars: None,
            seed: 0,
            candidates: 1,
            lock: None,
            swing: None,
        }
    }
}

/// A finished arrangement.
#[derive(Debug, Clone)]
pub struct Generation {
    /// The melody copied unchanged plus one track per generated role.
    pub song: Song,
    /// The seed of the chosen candidate: generating again with it (and one candidate) gives
    /// the same song.
    pub seed: u64,
    pub model_hash: String,
    /// Mean critic score of the chosen candidate (higher = more like the training data).
    pub critic_score: f32,
    /// Every candidate's seed and score, best first.
    pub candidates: Vec<(u64, f32)>,
    /// The chords the parts were played on, in the melody's key, on the model's grid from the
    /// song's first step; `None` for a model that is not chord-conditioned.
    pub chords: Option<orchestrion_harmony::ChordTrack>,
}

/// A loaded genre model. Immutable after loading, so it can be shared across threads in an `Arc`.
pub struct GenreModel {
    config: GanConfig,
    layout: Layout,
    generator: Generator,
    critic: Critic,
    spectral: SpectralState,
    info: ModelInfo,
    device: Device,
}

fn card_summary(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(store::CARD)).ok()?;
    let paragraph: Vec<&str> = text
        .lines()
        .skip_while(|l| l.trim().is_empty() || l.starts_with('#'))
        .take_while(|l| !l.trim().is_empty())
        .collect();
    (!paragraph.is_empty()).then(|| paragraph.join(" "))
}

fn info_of(dir: &Path, config: &GanConfig, parameters: usize) -> Result<ModelInfo, Error> {
    Ok(ModelInfo {
        name: config.name.clone(),
        dir: dir.to_path_buf(),
        roles: config.roles.clone(),
        programs: config.programs.clone(),
        meters: config.meters.clone(),
        steps_per_beat: config.steps_per_beat,
        window_bars: config.window_bars,
        hash: store::model_hash(dir)?,
        card_summary: card_summary(dir),
        parameters,
    })
}

/// Every model found in `dir` (one sub-folder each); broken ones are reported, not skipped.
pub fn list_models(dir: &Path) -> Vec<Result<ModelInfo, Error>> {
    store::model_dirs(dir)
        .into_iter()
        .map(|d| {
            let config = store::read_config(&d)?;
            info_of(&d, &config, 0)
        })
        .collect()
}

/// The song's melody track: the one marked melody, else the first pitched track with notes.
fn melody_track(song: &Song) -> Option<&Track> {
    song.tracks
        .iter()
        .find(|t| t.role == TrackRole::Melody && !t.notes.is_empty())
        .or_else(|| {
            song.tracks
                .iter()
                .find(|t| !t.is_drum && !t.notes.is_empty())
        })
}

impl GenreModel {
    pub fn load(dir: &Path) -> Result<GenreModel, Error> {
        if !dir.is_dir() {
            return Err(Error::UnknownModel {
                path: dir.to_path_buf(),
                reason: "no such folder".into(),
            });
        }
        let device = Device::flex();
        let (config, generator, critic, spectral) = store::load_model(dir, &device)?;
        let parameters = generator.num_params() + critic.num_params();
        let info = info_of(dir, &config, parameters)?;
        Ok(GenreModel {
            layout: config.layout(),
            config,
            generator,
            critic,
            spectral,
            info,
            device,
        })
    }

    /// Wrap networks held in memory (used by training for its samples and metrics).
    pub(crate) fn from_parts(
        config: GanConfig,
        generator: Generator,
        critic: Critic,
        spectral: SpectralState,
        hash: String,
    ) -> GenreModel {
        let info = ModelInfo {
            name: config.name.clone(),
            dir: PathBuf::new(),
            roles: config.roles.clone(),
            programs: config.programs.clone(),
            meters: config.meters.clone(),
            steps_per_beat: config.steps_per_beat,
            window_bars: config.window_bars,
            hash,
            card_summary: None,
            parameters: generator.num_params() + critic.num_params(),
        };
        GenreModel {
            layout: config.layout(),
            config,
            generator,
            critic,
            spectral,
            info,
            device: Device::flex(),
        }
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn config(&self) -> &GanConfig {
        &self.config
    }

    pub fn generate(&self, melody: &Song, options: &GenerateOptions) -> Result<Generation, Error> {
        let plan = self.plan(melody, options)?;
        let swing = options.swing.unwrap_or(self.config.swing);
        if !(0.0..=0.5).contains(&swing) {
            return Err(Error::Invalid(format!(
                "swing must be 0.0 (straight) to 0.5, not {swing}"
            )));
        }
        let candidates = options.candidates.max(1);
        if candidates > MAX_CANDIDATES {
            return Err(Error::Invalid(format!(
                "at most {MAX_CANDIDATES} candidates, not {candidates}"
            )));
        }
        let mut results = Vec::new();
        for k in 0..candidates {
            let seed = if k == 0 {
                options.seed
            } else {
                Rng::derive(options.seed, 0xc4d, k as u64).next_u64()
            };
            let (notes, score) = self.arrange(&plan, seed);
            results.push((seed, score, notes));
        }
        // Best score first; ties keep drawing order, so the result never depends on sorting.
        results.sort_by(|a, b| b.1.total_cmp(&a.1));
        let ranking: Vec<(u64, f32)> = results.iter().map(|r| (r.0, r.1)).collect();
        let (seed, score, notes) = results.swap_remove(0);
        let song = self.to_song(melody, &plan, &notes, seed, swing);
        Ok(Generation {
            song,
            seed,
            model_hash: self.info.hash.clone(),
            critic_score: score,
            candidates: ranking,
            chords: None,
        })
    }

    /// Check the request and put the melody (and locked parts) on the grid.
    fn plan(&self, melody: &Song, options: &GenerateOptions) -> Result<Plan, Error> {
        let spb = self.config.steps_per_beat;
        let track = melody_track(melody).ok_or(Error::EmptyMelody)?;
        let end_tick = track
            .notes
            .iter()
            .map(|n| n.start + n.duration.max(1))
            .max()
            .unwrap_or(0);
        let wanted = options.bars.unwrap_or(0);
        if wanted > MAX_BARS {
            return Err(Error::TooLong {
                bars: wanted,
                limit: MAX_BARS,
            });
        }
        let probe_end = if options.bars.is_some() { 0 } else { end_tick };
        // Count bars without building a huge table for absurd inputs.
        let mut bars = grid::bars(melody, spb, probe_end.min(u64::MAX / 2), wanted);
        if options.bars.is_none() && bars.len() as u32 > MAX_BARS {
            return Err(Error::TooLong {
                bars: bars.len() as u32,
                limit: MAX_BARS,
            });
        }
        if let Some(n) = options.bars {
            if n == 0 {
                return Err(Error::Invalid("--bars must be at least 1".into()));
            }
            bars.truncate(n as usize);
        }
        // The networks see a bar only as its steps and its position planes, so any bar no longer
        // than the model's longest trained bar fits its windows: a 3/4 or 6/8 tune on a 4/4 model
        // is arranged on the same grid (the card says how well). A longer bar would not fit a
        // window of `window_bars` bars, and is refused.
        let longest = self.config.longest_bar_steps();
        if let Some((i, bar)) = bars.iter().enumerate().find(|(_, b)| b.steps > longest) {
            let known: Vec<String> = self
                .config
                .meters
                .iter()
                .map(|(n, d)| format!("{n}/{d}"))
                .collect();
            return Err(Error::UnknownMeter {
                numerator: bar.numerator,
                denominator: bar.denominator,
                bar: i as u32 + 1,
                known: known.join(", "),
            });
        }
        let melody_notes = grid::notes_to_grid(&track.notes, 0, melody, &bars, spb);
        let shift = self.key_shift(&melody_notes);
        let melody_notes = self.transpose(&melody_notes, shift);
        let mut locked = Vec::new();
        let mut locked_mask = 0u64;
        let mut locked_tracks = Vec::new();
        if let Some((previous, roles)) = &options.lock {
            let span_end =
                grid::step_to_tick(&bars, total_steps(&bars) as u32, melody.ticks_per_beat, spb);
            for role in roles {
                let Some(r) = self
                    .config
                    .roles
                    .iter()
                    .position(|x| x == role)
                    .filter(|&r| r > 0)
                else {
                    return Err(Error::Invalid(format!(
                        "this model has no {role:?} part to lock"
                    )));
                };
                let Some(source) = previous.tracks.iter().find(|t| t.role == *role) else {
                    return Err(Error::Invalid(format!(
                        "the previous song has no {role:?} track to lock"
                    )));
                };
                locked_mask |= 1 << r;
                let (from, to) = (
                    u64::from(previous.ticks_per_beat.max(1)),
                    u64::from(melody.ticks_per_beat),
                );
                let kept: Vec<Note> = source
                    .notes
                    .iter()
                    .map(|n| Note {
                        start: n.start * to / from,
                        duration: (n.duration * to / from).max(1),
                        ..*n
                    })
                    .filter(|n| n.start < span_end)
                    .collect();
                locked_tracks.push((*role, kept));
                let prev_bars = grid::bars(previous, spb, 0, bars.len() as u32);
                locked.extend(grid::notes_to_grid(
                    &source.notes,
                    r,
                    previous,
                    &prev_bars,
                    spb,
                ));
            }
        }
        Ok(Plan {
            bars,
            melody: melody_notes,
            locked: self.transpose(&locked, shift),
            locked_mask,
            locked_tracks,
            shift,
        })
    }

    /// One candidate: all windows in order, each continuing the previous one.
    fn arrange(&self, plan: &Plan, seed: u64) -> (Vec<GridNote>, f32) {
        let layout = &self.layout;
        let w = self.config.window_bars.max(1) as usize;
        let hop = if w > 1 { w - 1 } else { 1 };
        let half = self.config.latent / 2;
        let mut song_rng = Rng::derive(seed, 0x50e6, 0);
        let song_latent: Vec<f32> = (0..half).map(|_| song_rng.normal()).collect();
        let mut generated: Vec<GridNote> = Vec::new();
        let mut scores = Vec::new();
        let mut spectral = self.spectral.clone();
        let mut first_bar = 0usize;
        let mut index = 0u64;
        loop {
            let last_bar = (first_bar + w).min(plan.bars.len());
            let window = &plan.bars[first_bar..last_bar];
            let origin = window[0].start_step;
            let valid: usize = window
                .iter()
                .map(|b| b.steps as usize)
                .sum::<usize>()
                .min(layout.steps);
            let context_steps = if first_bar > 0 {
                window[0].steps as usize
            } else {
                0
            };
            let canvas = Canvas {
                context_steps,
                locked: plan.locked_mask,
            };
            let in_window =
                |n: &&GridNote| n.start >= origin && ((n.start - origin) as usize) < valid;
            let shift = |n: &GridNote| GridNote {
                start: n.start - origin,
                ..*n
            };
            let mut known: Vec<GridNote> =
                plan.melody.iter().filter(in_window).map(shift).collect();
            known.extend(plan.locked.iter().filter(in_window).map(shift));
            known.extend(
                generated
                    .iter()
                    .filter(in_window)
                    .map(shift)
                    .filter(|n| (n.start as usize) < context_steps),
            );
            let bar_steps: Vec<u32> = window.iter().map(|b| b.steps).collect();
            let example = Example {
                roll: data::rasterize(layout, valid, &known, 0),
                known: data::known_plane(layout, valid, canvas),
                position: data::position_planes(layout, &bar_steps),
                valid_steps: valid,
                bar_steps,
            };
            let mut rng = Rng::derive(seed, 0x7a1e, index);
            let mut latent = song_latent.clone();
            latent.extend((half..self.config.latent).map(|_| rng.normal()));
            let (probs, score) = self.run_window(&example, latent, &mut spectral);
            scores.push(score);
            for role in 1..layout.roles.len() {
                if plan.locked_mask & (1 << role) != 0 {
                    continue;
                }
                let notes = decode::decode_role(
                    layout,
                    &probs,
                    valid,
                    role,
                    &self.config.role_decoding(role),
                );
                for note in notes {
                    let absolute = GridNote {
                        start: note.start + origin,
                        ..note
                    };
                    if note.start as usize >= context_steps {
                        generated.push(absolute);
                    } else if (note.start + note.duration) as usize > context_steps {
                        // A note of the previous window that this one holds on past the
                        // border: lengthen it there rather than cutting it at the seam.
                        let border = origin + context_steps as u32;
                        if let Some(earlier) = generated.iter_mut().find(|g| {
                            g.role == role
                                && g.pitch == note.pitch
                                && g.start == absolute.start
                                && g.start + g.duration == border
                        }) {
                            earlier.duration = earlier.duration.max(absolute.duration);
                        }
                    }
                }
            }
            if last_bar >= plan.bars.len() {
                break;
            }
            first_bar += hop;
            index += 1;
        }
        generated.extend(
            plan.locked
                .iter()
                .copied()
                .filter(|n| (n.start as usize) < total_steps(&plan.bars)),
        );
        let score = scores.iter().sum::<f32>() / scores.len().max(1) as f32;
        (generated, score)
    }

    /// Generator and critic on one canvas: the pasted probabilities `[P, T]` and the score.
    fn run_window(
        &self,
        example: &Example,
        latent: Vec<f32>,
        spectral: &mut SpectralState,
    ) -> (Vec<f32>, f32) {
        let batch = Batch::new(&self.layout, std::slice::from_ref(example), &self.device);
        let z = Tensor::<2>::from_data(
            TensorData::new(latent, [1, self.config.latent]),
            &self.device,
        );
        let probs = sigmoid(self.generator.forward(batch.canvas(), z));
        let full = batch.paste(probs);
        let score = self
            .critic
            .forward(full.clone(), batch.side.clone(), spectral);
        (
            full.into_data().try_to_vec().expect("f32 output"),
            score.into_scalar::<f32>(),
        )
    }

    /// Fill one window around a melody given on the grid (window-relative steps): the
    /// accompaniment notes, for metrics during training.
    pub fn fill_window(&self, bar_steps: &[u32], melody: &[GridNote], seed: u64) -> Vec<GridNote> {
        let layout = &self.layout;
        let valid = (bar_steps.iter().sum::<u32>() as usize).min(layout.steps);
        let shift = self.key_shift(melody);
        let probs = self.probabilities_in_networks_key(bar_steps, melody, shift, seed);
        let notes: Vec<GridNote> = (1..layout.roles.len())
            .flat_map(|role| {
                decode::decode_role(
                    layout,
                    &probs,
                    valid,
                    role,
                    &self.config.role_decoding(role),
                )
            })
            .collect();
        self.transpose(&notes, -shift)
    }

    /// The generator's probabilities `[P, T]` (melody pasted) for one window around a melody on
    /// the grid, before decoding: what calibration searches thresholds on. The rows are in the
    /// networks' key: moved by [`GenreModel::key_shift`] of the melody.
    pub fn window_probabilities(
        &self,
        bar_steps: &[u32],
        melody: &[GridNote],
        seed: u64,
    ) -> Vec<f32> {
        self.probabilities_in_networks_key(bar_steps, melody, self.key_shift(melody), seed)
    }

    /// [`GenreModel::window_probabilities`] with the melody moved by `shift`, already known.
    fn probabilities_in_networks_key(
        &self,
        bar_steps: &[u32],
        melody: &[GridNote],
        shift: i32,
        seed: u64,
    ) -> Vec<f32> {
        let layout = &self.layout;
        let valid = (bar_steps.iter().sum::<u32>() as usize).min(layout.steps);
        let example = Example {
            roll: data::rasterize(layout, valid, melody, shift),
            known: data::known_plane(
                layout,
                valid,
                Canvas {
                    context_steps: 0,
                    locked: 0,
                },
            ),
            position: data::position_planes(layout, bar_steps),
            valid_steps: valid,
            bar_steps: bar_steps.to_vec(),
        };
        let mut rng = Rng::derive(seed, 0x50e6, 0);
        let latent: Vec<f32> = (0..self.config.latent).map(|_| rng.normal()).collect();
        let (probs, _) = self.run_window(&example, latent, &mut self.spectral.clone());
        probs
    }

    /// Semitones that move this melody into the networks' key: C major / A minor for a
    /// key-normalized model, 0 for one trained on all keys.
    pub fn key_shift(&self, melody: &[GridNote]) -> i32 {
        if self.config.key_normalized {
            key::shift_to_c(melody)
        } else {
            0
        }
    }

    /// Pitched notes moved by `shift` semitones; drums stay.
    fn transpose(&self, notes: &[GridNote], shift: i32) -> Vec<GridNote> {
        key::transpose(notes, shift, |role| self.layout.is_drum(role))
    }

    /// Where each role's planes live in the generator's output.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Decode with these per-role parameters from now on (one per role; empty = the config's
    /// plain thresholds). Calibration and evaluation use it; `config.json` is not touched.
    pub fn set_decoding(&mut self, decoding: Vec<RoleDecoding>) {
        self.config.decoding = decoding;
    }

    fn to_song(
        &self,
        input: &Song,
        plan: &Plan,
        notes: &[GridNote],
        seed: u64,
        swing: f32,
    ) -> Song {
        let spb = self.config.steps_per_beat;
        let tpb = input.ticks_per_beat;
        let melody = melody_track(input).expect("checked in plan").clone();
        let mut tracks = vec![Track {
            role: TrackRole::Melody,
            ..melody.clone()
        }];
        let mut channels = (0u8..16).filter(|&c| c != 9 && c != melody.channel);
        let notes = self.transpose(notes, -plan.shift);
        for (r, &role) in self.config.roles.iter().enumerate().skip(1) {
            let is_drum = role == TrackRole::Drums;
            let channel = if is_drum {
                9
            } else {
                channels.next().unwrap_or(0)
            };
            let locked = plan.locked_tracks.iter().find(|(l, _)| *l == role);
            let mut track_notes: Vec<Note> = match locked {
                Some((_, kept)) => kept.clone(),
                None => notes
                    .iter()
                    .filter(|n| n.role == r)
                    .map(|n| {
                        let (start, end) = swing_span(
                            &input.meters,
                            grid::step_to_tick(&plan.bars, n.start, tpb, spb),
                            grid::step_to_tick(&plan.bars, n.start + n.duration, tpb, spb),
                            u64::from(tpb),
                            f64::from(swing),
                        );
                        let velocity = if n.velocity > 0 {
                            n.velocity
                        } else {
                            humanized_velocity(&plan.bars, n.start, is_drum)
                        };
                        Note {
                            pitch: n.pitch,
                            velocity,
                            start,
                            duration: (end - start).max(1),
                        }
                    })
                    .collect(),
            };
            track_notes.sort_by_key(|n| (n.start, n.pitch));
            track_notes.dedup_by_key(|n| (n.start, n.pitch));
            tracks.push(Track {
                name: format!("{role:?}"),
                program: self.config.programs.get(r).copied().unwrap_or(0),
                channel,
                is_drum,
                role,
                notes: track_notes,
            });
        }
        let mut texts = input.texts.clone();
        texts.push(format!(
            "orchestrion model={} hash={} seed={}",
            self.config.name, self.info.hash, seed
        ));
        Song {
            ticks_per_beat: input.ticks_per_beat,
            tempos: input.tempos.clone(),
            meters: input.meters.clone(),
            key_signatures: input.key_signatures.clone(),
            tracks,
            texts,
        }
    }
}

fn total_steps(bars: &[Bar]) -> usize {
    bars.iter().map(|b| b.steps as usize).sum()
}

/// Velocity from the position in the bar: downbeats a little louder, off-beats softer.
fn humanized_velocity(bars: &[Bar], step: u32, is_drum: bool) -> u8 {
    let i = bars
        .partition_point(|b| b.start_step <= step)
        .saturating_sub(1);
    let within = step - bars[i].start_step;
    let base = if is_drum { 84 } else { 72 };
    if within == 0 {
        base + 16
    } else if within.is_multiple_of(4) {
        base + 6
    } else {
        base - 6
    }
}

/// A request put on the grid.
struct Plan {
    bars: Vec<Bar>,
    /// Melody and locked parts are moved by `shift` semitones (the networks' key, see
    /// [`crate::key`]); the song is moved back when it is written.
    melody: Vec<GridNote>,
    locked: Vec<GridNote>,
    locked_mask: u64,
    /// The locked parts' own notes, in the melody's ticks, within the bars: what is written
    /// for them, so locking keeps a part to the tick (swing and velocities included).
    locked_tracks: Vec<(TrackRole, Vec<Note>)>,
    shift: i32,
}
