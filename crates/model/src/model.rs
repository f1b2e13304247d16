//! The generator (the orchestra) and the critic (the conductor).
//!
//! Family: MuseGAN (Dong et al. 2018) and the AWS DeepComposer U-Net GAN, conditioned through a
//! *canvas* instead of a separate encoder: the generator reads the roll with the known cells
//! filled plus the mask, and fills the rest. Both networks factor time and pitch as MuseGAN's
//! separable convolutions do: a `1`-wide convolution mixes the pitch rows of every role at each
//! step (the pitch axis), then temporal convolutions at step and beat resolution run along time.
//! The critic is spectrally normalized (Miyato et al. 2018) and trained with the hinge loss.
//!
//! Shapes (B batch, T padded steps, P = 2 × total pitch rows, R roles, Z latent):
//! - generator: canvas `[B, P + R + 4, T]`, latent `[B, Z]` → logits `[B, P, T]`
//! - critic: roll `[B, P, T]`, mask and positions `[B, R + 4, T]` → score `[B, 1]`

use crate::data::Layout;
use crate::rng::Rng;
use burn::module::{Module, Param};
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::conv1d;
use burn::tensor::ops::ConvOptions;
use orchestrion_music::TrackRole;
use serde::{Deserialize, Serialize};

const SLOPE: f64 = 0.2;

/// Everything a model needs to be rebuilt: the data layout (from the dataset's recipe) and the
/// architecture. Stored as `config.json` beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanConfig {
    pub name: String,
    /// Roles in plane order; `roles[0]` is the melody.
    pub roles: Vec<TrackRole>,
    /// General MIDI program per role.
    pub programs: Vec<u8>,
    pub steps_per_beat: u32,
    pub window_bars: u32,
    pub max_window_steps: u32,
    /// Per role: (lowest MIDI pitch, rows).
    pub pitch_ranges: Vec<(u8, u8)>,
    /// Meters (numerator, denominator) the model was trained on.
    pub meters: Vec<(u8, u8)>,
    /// Hash of the dataset recipe the model learned from.
    pub recipe_hash: String,
    /// Channels at step resolution.
    #[serde(default = "default_channels")]
    pub channels: usize,
    /// Channels at beat resolution.
    #[serde(default = "default_beat_channels")]
    pub beat_channels: usize,
    /// Channels of the critic.
    #[serde(default = "default_critic_channels")]
    pub critic_channels: usize,
    /// Size of the noise vector: the first half is the song-level latent shared by all windows
    /// of a song, the second half is drawn per window.
    #[serde(default = "default_latent")]
    pub latent: usize,
    #[serde(default = "default_threshold")]
    pub onset_threshold: f32,
    #[serde(default = "default_threshold")]
    pub sustain_threshold: f32,
    /// Per-role decoding (index = role), written by `orchestrion calibrate`; empty = the two
    /// thresholds above for every role and no cap on the notes sounding together.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decoding: Vec<crate::decode::RoleDecoding>,
    /// The networks work in C major / A minor: melodies are moved there before generation and
    /// the parts moved back ([`crate::key`]). Models trained before this existed read `false`
    /// and learned all twelve keys through random transposition instead.
    #[serde(default)]
    pub key_normalized: bool,
    /// Swing of the parts this model writes, applied when the song is written out: off-beat
    /// eighths come this fraction of an eighth late (0 straight, 1/3 the triplet feel of
    /// jazz), in meters counted in quarter notes or longer
    /// ([`orchestrion_music::grid::swing_span`]). The networks and the metrics work on the
    /// straight grid; the melody is never moved. [`crate::GenerateOptions::swing`] overrides it.
    #[serde(default)]
    pub swing: f32,
}

fn default_channels() -> usize {
    64
}
fn default_beat_channels() -> usize {
    96
}
fn default_critic_channels() -> usize {
    48
}
fn default_latent() -> usize {
    32
}
fn default_threshold() -> f32 {
    0.5
}

impl GanConfig {
    /// How role `role`'s planes become notes.
    pub fn role_decoding(&self, role: usize) -> crate::decode::RoleDecoding {
        self.decoding.get(role).copied().unwrap_or_else(|| {
            crate::decode::RoleDecoding::plain(self.onset_threshold, self.sustain_threshold)
        })
    }

    pub fn layout(&self) -> Layout {
        Layout::new(
            &self.roles,
            &self.pitch_ranges,
            self.max_window_steps,
            self.steps_per_beat,
        )
    }

    /// Steps of the longest bar among the trained meters: any bar up to this long fits the
    /// model's windows, whatever its meter.
    pub fn longest_bar_steps(&self) -> u32 {
        let grid = orchestrion_music::Grid::new(self.steps_per_beat);
        self.meters
            .iter()
            .filter_map(|&(n, d)| grid.steps_per_bar(n, d))
            .max()
            .unwrap_or(0)
    }

    /// Build both networks with weights drawn from `seed` (independent of any global RNG).
    pub fn init(&self, seed: u64, device: &Device) -> (Generator, Critic) {
        let layout = self.layout();
        let mut rng = Rng::derive(seed, 0x1417, 0);
        let p = layout.roll_channels();
        let side = layout.roles.len() + crate::data::POSITION_CHANNELS;
        let (c, cb, cc) = (self.channels, self.beat_channels, self.critic_channels);
        let generator = Generator {
            pitch_in: Conv::new(p + side, c, 1, 1, 1, &mut rng, device),
            step_in: Conv::new(c, c, 3, 1, 1, &mut rng, device),
            to_beats: Conv::new(c, cb, 4, 4, 1, &mut rng, device),
            latent: Conv::new(self.latent, cb, 1, 1, 1, &mut rng, device),
            beat1: Conv::new(cb, cb, 3, 1, 1, &mut rng, device),
            beat2: Conv::new(cb, cb, 3, 1, 2, &mut rng, device),
            beat3: Conv::new(cb, cb, 3, 1, 4, &mut rng, device),
            from_beats: Conv::new(cb, c, 1, 1, 1, &mut rng, device),
            step_out: Conv::new(c, c, 3, 1, 1, &mut rng, device),
            pitch_out: Conv::new(c, p, 1, 1, 1, &mut rng, device),
        };
        let critic = Critic {
            pitch_in: Conv::new(p + side, cc, 1, 1, 1, &mut rng, device),
            to_beats: Conv::new(cc, 2 * cc, 4, 4, 1, &mut rng, device),
            beat: Conv::new(2 * cc, 2 * cc, 3, 1, 1, &mut rng, device),
            to_bars: Conv::new(2 * cc, 2 * cc, 4, 4, 1, &mut rng, device),
            score: Conv::new(2 * cc, 1, 1, 1, 1, &mut rng, device),
        };
        (generator, critic)
    }

    /// Both networks of this config, starting from the trained weights of another model (`old`,
    /// `generator`, `critic`) instead of random ones: transfer learning. Every layer whose shape
    /// does not depend on the roles is copied whole; the layers that read or write the piano
    /// roll (`pitch_in`, `pitch_out`) copy the channels of each role both models have (matched
    /// by name, row by pitch) and keep the fresh weights of the rest, so a new role starts from
    /// scratch while the old ones keep what they learned. `fresh` are this config's initialized
    /// networks.
    pub fn transfer(
        &self,
        fresh: (Generator, Critic),
        old: &GanConfig,
        generator: &Generator,
        critic: &Critic,
    ) -> Result<(Generator, Critic), String> {
        let sizes = |c: &GanConfig| {
            (
                c.channels,
                c.beat_channels,
                c.critic_channels,
                c.latent,
                c.steps_per_beat,
            )
        };
        if old.key_normalized != self.key_normalized {
            return Err(format!(
                "model {} {} in one key, this run {}",
                old.name,
                if old.key_normalized {
                    "works"
                } else {
                    "does not work"
                },
                if self.key_normalized {
                    "does"
                } else {
                    "does not"
                }
            ));
        }
        if sizes(self) != sizes(old) {
            return Err(format!(
                "model {} has (channels, beat channels, critic channels, latent, steps per \
                 beat) {:?}, this run {:?}",
                old.name,
                sizes(old),
                sizes(self)
            ));
        }
        let (new_layout, old_layout) = (self.layout(), old.layout());
        // Roll channels of each shared role, row by pitch.
        let mut roll = Vec::new();
        // The side planes: each shared role's mask, then the positions.
        let mut side = Vec::new();
        for (r_old, role) in old.roles.iter().enumerate() {
            let Some(r_new) = self.roles.iter().position(|x| x == role) else {
                continue;
            };
            side.push((r_old, r_new));
            for row in 0..old_layout.rows[r_old] {
                let pitch = old_layout.lowest[r_old] as i32 + row as i32;
                if let Some(new_row) = new_layout.row_of(r_new, pitch) {
                    for plane in 0..2 {
                        roll.push((
                            old_layout.channel(r_old, plane, row),
                            new_layout.channel(r_new, plane, new_row),
                        ));
                    }
                }
            }
        }
        for p in 0..crate::data::POSITION_CHANNELS {
            side.push((old.roles.len() + p, self.roles.len() + p));
        }
        let (p_old, p_new) = (old_layout.roll_channels(), new_layout.roll_channels());
        let canvas: Vec<(usize, usize)> = roll
            .iter()
            .copied()
            .chain(side.iter().map(|&(o, n)| (p_old + o, p_new + n)))
            .collect();
        let (mut g, mut c) = fresh;
        g.pitch_in = g.pitch_in.take_from(&generator.pitch_in, &canvas, None);
        g.step_in = g.step_in.take_from(&generator.step_in, &[], None);
        g.to_beats = g.to_beats.take_from(&generator.to_beats, &[], None);
        g.latent = g.latent.take_from(&generator.latent, &[], None);
        g.beat1 = g.beat1.take_from(&generator.beat1, &[], None);
        g.beat2 = g.beat2.take_from(&generator.beat2, &[], None);
        g.beat3 = g.beat3.take_from(&generator.beat3, &[], None);
        g.from_beats = g.from_beats.take_from(&generator.from_beats, &[], None);
        g.step_out = g.step_out.take_from(&generator.step_out, &[], None);
        g.pitch_out = g
            .pitch_out
            .take_from(&generator.pitch_out, &[], Some(&roll));
        c.pitch_in = c.pitch_in.take_from(&critic.pitch_in, &canvas, None);
        c.to_beats = c.to_beats.take_from(&critic.to_beats, &[], None);
        c.beat = c.beat.take_from(&critic.beat, &[], None);
        c.to_bars = c.to_bars.take_from(&critic.to_bars, &[], None);
        c.score = c.score.take_from(&critic.score, &[], None);
        Ok((g, c))
    }

    /// The critic's spectral-norm state for freshly initialized weights.
    pub fn init_spectral(&self, seed: u64) -> SpectralState {
        let (_, critic) = self.init(seed, &Device::flex());
        SpectralState::new(&critic, seed)
    }
}

/// A 1-D convolution with "same" padding for stride 1 and none for strided (down-sampling) ones.
#[derive(Module, Debug)]
pub struct Conv {
    pub weight: Param<Tensor<3>>,
    pub bias: Param<Tensor<1>>,
    pub stride: usize,
    pub dilation: usize,
}

impl Conv {
    fn new(
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Conv {
        // Variance 1/fan_in (LeCun uniform): keeps activations in range through leaky ReLUs.
        let bound = (3.0 / (cin * kernel) as f32).sqrt();
        let weight: Vec<f32> = (0..cout * cin * kernel)
            .map(|_| (rng.uniform() * 2.0 - 1.0) * bound)
            .collect();
        Conv {
            weight: Param::from_data(TensorData::new(weight, [cout, cin, kernel]), device),
            bias: Param::from_data(TensorData::new(vec![0.0f32; cout], [cout]), device),
            stride,
            dilation,
        }
    }

    /// This layer with weights of `old` copied in. `inputs` maps old input channels to new ones
    /// (empty: all, the layers having the same number), `outputs` old output channels to new
    /// ones (None: all, with their biases); every other weight keeps its fresh value.
    fn take_from(
        self,
        old: &Conv,
        inputs: &[(usize, usize)],
        outputs: Option<&[(usize, usize)]>,
    ) -> Conv {
        let [new_out, new_in, kernel] = self.weight.dims();
        let [old_out, old_in, _] = old.weight.dims();
        let values = |t: Tensor<3>| -> Vec<f32> { t.into_data().try_to_vec().expect("f32") };
        let mut weight = values(self.weight.val());
        let mut bias: Vec<f32> = self.bias.val().into_data().try_to_vec().expect("f32");
        let old_weight = values(old.weight.val());
        let old_bias: Vec<f32> = old.bias.val().into_data().try_to_vec().expect("f32");
        let all_in: Vec<(usize, usize)> = (0..old_in.min(new_in)).map(|i| (i, i)).collect();
        let all_out: Vec<(usize, usize)> = (0..old_out.min(new_out)).map(|o| (o, o)).collect();
        let inputs = if inputs.is_empty() { &all_in } else { inputs };
        for &(from_out, to_out) in outputs.unwrap_or(&all_out) {
            bias[to_out] = old_bias[from_out];
            for &(from_in, to_in) in inputs {
                for k in 0..kernel {
                    weight[(to_out * new_in + to_in) * kernel + k] =
                        old_weight[(from_out * old_in + from_in) * kernel + k];
                }
            }
        }
        let device = self.weight.device();
        Conv {
            weight: Param::from_data(TensorData::new(weight, [new_out, new_in, kernel]), &device),
            bias: Param::from_data(TensorData::new(bias, [new_out]), &device),
            stride: self.stride,
            dilation: self.dilation,
        }
    }

    fn options(&self) -> ConvOptions<1> {
        let kernel = self.weight.dims()[2];
        let pad = if self.stride == 1 {
            self.dilation * (kernel - 1) / 2
        } else {
            0
        };
        ConvOptions::new([self.stride], [pad], [self.dilation], 1)
    }

    /// The reference definition on `[B, C, T]` tensors (burn's `conv1d`); the networks use
    /// [`Conv::apply`], which computes the same function faster.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        conv1d(x, self.weight.val(), Some(self.bias.val()), self.options())
    }

    /// The convolution on channel-major activations `[Cin, B, T]` → `[Cout, B, T']`, as one
    /// matrix product `[Cout, Cin·k] × [Cin·k, B·T']`. The columns are the `k` shifted (or, for
    /// strided layers, interleaved) copies of the input, stacked in the weight's `(cin, k)`
    /// order. Why: burn-flex's `conv1d` backward goes through a transposed convolution and a
    /// per-batch weight gradient that cost several times the forward; a matrix product's
    /// backward is two more matrix products on the same fast GEMM.
    fn apply_weight(&self, x: Tensor<3>, weight: Tensor<3>) -> Tensor<3> {
        let [cout, cin, kernel] = weight.dims();
        let [_, b, t] = x.dims();
        let (columns, t_out) = if kernel == 1 && self.stride == 1 {
            (x.reshape([cin, b * t]), t)
        } else if self.stride == 1 {
            let pad = self.dilation * (kernel - 1) / 2;
            let device = x.device();
            let zeros = Tensor::<3>::zeros([cin, b, pad], &device);
            let padded = Tensor::cat(vec![zeros.clone(), x, zeros], 2);
            let shifted: Vec<Tensor<3>> = (0..kernel)
                .map(|j| {
                    let at = j * self.dilation;
                    padded.clone().slice([0..cin, 0..b, at..at + t])
                })
                .collect();
            (
                Tensor::stack::<4>(shifted, 1).reshape([cin * kernel, b * t]),
                t,
            )
        } else {
            assert!(
                kernel == self.stride && t.is_multiple_of(kernel),
                "strided layers have kernel = stride and whole strides"
            );
            let t_out = t / kernel;
            let columns = x
                .reshape([cin, b, t_out, kernel])
                .permute([0, 3, 1, 2])
                .reshape([cin * kernel, b * t_out]);
            (columns, t_out)
        };
        let y = weight.reshape([cout, cin * kernel]).matmul(columns);
        y.reshape([cout, b, t_out]) + self.bias.val().reshape([cout, 1, 1])
    }

    /// [`Conv::forward`] on channel-major activations `[Cin, B, T]` → `[Cout, B, T']`.
    pub fn apply(&self, x: Tensor<3>) -> Tensor<3> {
        self.apply_weight(x, self.weight.val())
    }

    /// The weight divided by its largest singular value, estimated by one power iteration from
    /// `u` (updated in place). `u` and `v` are rebuilt from plain numbers each call: a vector
    /// kept as a tensor across `backward()` calls would hold a consumed graph.
    fn normalized_weight(&self, u: &mut [f32]) -> Tensor<3> {
        let weight = self.weight.val();
        let [cout, cin, kernel] = weight.dims();
        let cols = cin * kernel;
        let w: Vec<f32> = weight
            .clone()
            .detach()
            .into_data()
            .try_to_vec()
            .expect("f32 weights");
        let mut v = vec![0.0f32; cols];
        for (o, &uo) in u.iter().enumerate() {
            for (vj, &wj) in v.iter_mut().zip(&w[o * cols..(o + 1) * cols]) {
                *vj += wj * uo;
            }
        }
        normalize(&mut v);
        for (o, uo) in u.iter_mut().enumerate() {
            *uo = w[o * cols..(o + 1) * cols]
                .iter()
                .zip(&v)
                .map(|(a, b)| a * b)
                .sum();
        }
        normalize(u);
        let outer: Vec<f32> = u
            .iter()
            .flat_map(|&uo| v.iter().map(move |&vj| uo * vj))
            .collect();
        let device = weight.device();
        let outer = Tensor::<3>::from_data(TensorData::new(outer, [cout, cin, kernel]), &device);
        let sigma = (weight.clone() * outer).sum().reshape([1, 1, 1]);
        weight / sigma
    }

    /// Forward on `[B, C, T]` with the spectrally normalized weight (see
    /// [`Conv::apply_normalized`]).
    pub fn forward_normalized(&self, x: Tensor<3>, u: &mut [f32]) -> Tensor<3> {
        let weight = self.normalized_weight(u);
        conv1d(x, weight, Some(self.bias.val()), self.options())
    }

    /// [`Conv::apply`] with the weight divided by its largest singular value, estimated by one
    /// power iteration from `u` (updated in place).
    pub fn apply_normalized(&self, x: Tensor<3>, u: &mut [f32]) -> Tensor<3> {
        let weight = self.normalized_weight(u);
        self.apply_weight(x, weight)
    }

    fn out_channels(&self) -> usize {
        self.weight.dims()[0]
    }
}

fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

/// Fills the unknown cells of the canvas.
#[derive(Module, Debug)]
pub struct Generator {
    /// `[B, P+R+4, T] → [B, C, T]`: mixes all pitch rows at each step.
    pitch_in: Conv,
    /// `[B, C, T] → [B, C, T]`, kernel 3 along time.
    step_in: Conv,
    /// `[B, C, T] → [B, Cb, T/4]`: one column per beat.
    to_beats: Conv,
    /// `[B, Z, 1] → [B, Cb, 1]`, added at every beat.
    latent: Conv,
    /// Dilated temporal convolutions at beat resolution (dilation 1, 2, 4): the receptive field
    /// spans the window, so the parts agree on harmony across bars.
    beat1: Conv,
    beat2: Conv,
    beat3: Conv,
    /// `[B, Cb, T] → [B, C, T]` after nearest up-sampling; added to the step features.
    from_beats: Conv,
    step_out: Conv,
    /// `[B, C, T] → [B, P, T]`: onset and sustain logits of every pitch row.
    pitch_out: Conv,
}

impl Generator {
    /// `canvas`: `[B, P+R+4, T]`, `latent`: `[B, Z]` → logits `[B, P, T]`. Inside, activations
    /// are channel-major `[C, B, T]` (see [`Conv::apply`]).
    pub fn forward(&self, canvas: Tensor<3>, latent: Tensor<2>) -> Tensor<3> {
        self.forward_channel_major(canvas.swap_dims(0, 1), latent)
            .swap_dims(0, 1)
    }

    /// [`Generator::forward`] on a channel-major canvas `[P+R+4, B, T]` → logits `[P, B, T]`:
    /// what training uses, so that no layout change happens between the networks and the losses.
    pub fn forward_channel_major(&self, canvas: Tensor<3>, latent: Tensor<2>) -> Tensor<3> {
        let [_, b, t] = canvas.dims();
        let h = leaky_relu(self.pitch_in.apply(canvas), SLOPE);
        let h = h.clone() + leaky_relu(self.step_in.apply(h), SLOPE);
        let beats = leaky_relu(self.to_beats.apply(h.clone()), SLOPE);
        let z = self.latent.apply(latent.transpose().unsqueeze_dim(2));
        let beats = beats + z;
        let beats = beats.clone() + leaky_relu(self.beat1.apply(beats), SLOPE);
        let beats = beats.clone() + leaky_relu(self.beat2.apply(beats), SLOPE);
        let beats = beats.clone() + leaky_relu(self.beat3.apply(beats), SLOPE);
        let cb = beats.dims()[0];
        let up = beats
            .unsqueeze_dim::<4>(3)
            .repeat_dim(3, 4)
            .reshape([cb, b, t]);
        let h = h + self.from_beats.apply(up);
        let h = leaky_relu(self.step_out.apply(h), SLOPE);
        self.pitch_out.apply(h)
    }
}

/// Judges whole windows: melody and every part, with the mask and bar positions.
#[derive(Module, Debug)]
pub struct Critic {
    pitch_in: Conv,
    to_beats: Conv,
    beat: Conv,
    to_bars: Conv,
    score: Conv,
}

/// The power-iteration vectors of the critic's spectral norm, one per layer, as plain numbers
/// so that they can be checkpointed and never hold a graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpectralState {
    pub u: Vec<Vec<f32>>,
}

impl SpectralState {
    pub fn new(critic: &Critic, seed: u64) -> SpectralState {
        let mut rng = Rng::derive(seed, 0x5bec, 0);
        let u = critic
            .layers()
            .iter()
            .map(|layer| {
                let mut u: Vec<f32> = (0..layer.out_channels()).map(|_| rng.normal()).collect();
                normalize(&mut u);
                u
            })
            .collect();
        SpectralState { u }
    }
}

impl Critic {
    fn layers(&self) -> [&Conv; 5] {
        [
            &self.pitch_in,
            &self.to_beats,
            &self.beat,
            &self.to_bars,
            &self.score,
        ]
    }

    /// `roll`: `[B, P, T]`, `side` (mask + positions): `[B, R+4, T]` → `[B, 1]`. Inside,
    /// activations are channel-major `[C, B, T]` (see [`Conv::apply`]).
    pub fn forward(&self, roll: Tensor<3>, side: Tensor<3>, sn: &mut SpectralState) -> Tensor<2> {
        self.forward_channel_major(roll.swap_dims(0, 1), side.swap_dims(0, 1), sn)
    }

    /// [`Critic::forward`] on channel-major planes: `roll` `[P, B, T]`, `side` `[R+4, B, T]`.
    pub fn forward_channel_major(
        &self,
        roll: Tensor<3>,
        side: Tensor<3>,
        sn: &mut SpectralState,
    ) -> Tensor<2> {
        let [_, b, _] = roll.dims();
        let x = Tensor::cat(vec![roll, side], 0);
        let h = leaky_relu(self.pitch_in.apply_normalized(x, &mut sn.u[0]), SLOPE);
        let h = leaky_relu(self.to_beats.apply_normalized(h, &mut sn.u[1]), SLOPE);
        let h = h.clone() + leaky_relu(self.beat.apply_normalized(h, &mut sn.u[2]), SLOPE);
        let h = leaky_relu(self.to_bars.apply_normalized(h, &mut sn.u[3]), SLOPE);
        let pooled = h.mean_dim(2);
        let score = self.score.apply_normalized(pooled, &mut sn.u[4]);
        score.reshape([b, 1])
    }
}

/// Number of scalar weights in a module.
pub fn parameter_count<M: Module>(module: &M) -> usize {
    module.num_params()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn tiny_config() -> GanConfig {
        GanConfig {
            name: "tiny".into(),
            roles: vec![TrackRole::Melody, TrackRole::Drums, TrackRole::Bass],
            programs: vec![0, 0, 33],
            steps_per_beat: 4,
            window_bars: 2,
            max_window_steps: 32,
            pitch_ranges: vec![(55, 24), (35, 12), (28, 24)],
            meters: vec![(4, 4)],
            recipe_hash: "test".into(),
            channels: 16,
            beat_channels: 16,
            critic_channels: 8,
            latent: 8,
            onset_threshold: 0.5,
            sustain_threshold: 0.5,
            decoding: Vec::new(),
            key_normalized: true,
            swing: 0.0,
        }
    }

    #[test]
    fn shapes_and_seeded_init() {
        let config = tiny_config();
        let device = Device::flex();
        let (g, c) = config.init(3, &device);
        let layout = config.layout();
        let canvas = Tensor::<3>::zeros([2, layout.input_channels(), layout.steps], &device);
        let z = Tensor::<2>::zeros([2, config.latent], &device);
        let out = g.forward(canvas, z);
        assert_eq!(out.dims(), [2, layout.roll_channels(), layout.steps]);
        let mut sn = SpectralState::new(&c, 3);
        let side = Tensor::<3>::zeros([2, layout.roles.len() + 4, layout.steps], &device);
        let score = c.forward(out, side, &mut sn);
        assert_eq!(score.dims(), [2, 1]);
        let (g2, _) = config.init(3, &device);
        let a: Vec<f32> = g.pitch_out.weight.val().into_data().try_to_vec().unwrap();
        let b: Vec<f32> = g2.pitch_out.weight.val().into_data().try_to_vec().unwrap();
        assert_eq!(a, b);
    }

    fn random(dims: [usize; 3], rng: &mut Rng, device: &Device) -> Tensor<3> {
        let n = dims.iter().product();
        let values: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
        Tensor::from_data(TensorData::new(values, dims), device)
    }

    fn max_difference(a: Tensor<3>, b: Tensor<3>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    #[test]
    fn transfer_keeps_what_the_shared_roles_learned() {
        // The old model has melody, drums, bass; the new one adds piano in the middle, with the
        // bass a few rows wider. On a canvas where piano is empty and hidden, the transferred
        // generator must write the old one's logits for every shared channel.
        let device = Device::flex();
        let old = tiny_config();
        let (g_old, c_old) = old.init(3, &device);
        let mut new = tiny_config();
        new.roles = vec![
            TrackRole::Melody,
            TrackRole::Drums,
            TrackRole::Piano,
            TrackRole::Bass,
        ];
        new.programs = vec![0, 0, 0, 33];
        new.pitch_ranges = vec![(55, 24), (35, 12), (48, 24), (26, 28)];
        let (g, _) = new
            .transfer(new.init(4, &device), &old, &g_old, &c_old)
            .unwrap();
        let (lo, ln) = (old.layout(), new.layout());
        let t = lo.steps;
        let mut rng = Rng::derive(5, 0, 0);
        let old_canvas: Vec<f32> = (0..lo.input_channels() * t)
            .map(|_| (rng.uniform() < 0.2) as u8 as f32)
            .collect();
        // The same canvas on the new planes: old role r → new role, row by pitch; piano zero.
        let mut new_canvas = vec![0.0f32; ln.input_channels() * t];
        let role_map = [0usize, 1, 3];
        let mut shared = Vec::new();
        for (r_old, &r_new) in role_map.iter().enumerate() {
            for row in 0..lo.rows[r_old] {
                let pitch = lo.lowest[r_old] as i32 + row as i32;
                let new_row = ln.row_of(r_new, pitch).unwrap();
                for plane in 0..2 {
                    let (a, b) = (
                        lo.channel(r_old, plane, row),
                        ln.channel(r_new, plane, new_row),
                    );
                    new_canvas[b * t..(b + 1) * t].copy_from_slice(&old_canvas[a * t..(a + 1) * t]);
                    shared.push((a, b));
                }
            }
            let (a, b) = (lo.roll_channels() + r_old, ln.roll_channels() + r_new);
            new_canvas[b * t..(b + 1) * t].copy_from_slice(&old_canvas[a * t..(a + 1) * t]);
        }
        for p in 0..crate::data::POSITION_CHANNELS {
            let (a, b) = (lo.roll_channels() + 3 + p, ln.roll_channels() + 4 + p);
            new_canvas[b * t..(b + 1) * t].copy_from_slice(&old_canvas[a * t..(a + 1) * t]);
        }
        let tensor =
            |v: Vec<f32>, c: usize| Tensor::<3>::from_data(TensorData::new(v, [1, c, t]), &device);
        let z = Tensor::<2>::from_data(
            TensorData::new(vec![0.3f32; old.latent], [1, old.latent]),
            &device,
        );
        let logits = |g: &Generator, canvas: Tensor<3>| -> Vec<f32> {
            g.forward(canvas, z.clone())
                .into_data()
                .try_to_vec()
                .unwrap()
        };
        let before = logits(&g_old, tensor(old_canvas, lo.input_channels()));
        let after = logits(&g, tensor(new_canvas, ln.input_channels()));
        assert_eq!(
            shared.len(),
            lo.roll_channels(),
            "every old channel has a place"
        );
        for (a, b) in shared {
            for s in 0..t {
                let (x, y) = (before[a * t + s], after[b * t + s]);
                assert!(
                    (x - y).abs() < 1e-4,
                    "channel {a} → {b}, step {s}: {x} vs {y}"
                );
            }
        }
        let mut other = tiny_config();
        other.channels = 32;
        assert!(
            other
                .transfer(other.init(1, &device), &old, &g_old, &c_old)
                .is_err()
        );
    }

    #[test]
    fn matrix_convolution_matches_conv1d() {
        let device = Device::flex();
        let mut rng = Rng::derive(9, 1, 0);
        for (cin, cout, kernel, stride, dilation) in [
            (7, 5, 1, 1, 1),
            (6, 4, 3, 1, 1),
            (6, 4, 3, 1, 2),
            (6, 4, 3, 1, 4),
            (5, 3, 4, 4, 1),
        ] {
            let mut conv = Conv::new(cin, cout, kernel, stride, dilation, &mut rng, &device);
            let bias: Vec<f32> = (0..cout).map(|_| rng.normal()).collect();
            conv.bias = Param::from_data(TensorData::new(bias, [cout]), &device);
            let x = random([3, cin, 16], &mut rng, &device);
            let reference = conv.forward(x.clone());
            let fast = conv.apply(x.clone().swap_dims(0, 1)).swap_dims(0, 1);
            assert_eq!(reference.dims(), fast.dims());
            let diff = max_difference(reference, fast);
            assert!(diff < 1e-5, "k {kernel} s {stride} d {dilation}: {diff}");
            let mut u1: Vec<f32> = (0..cout).map(|_| rng.normal()).collect();
            normalize(&mut u1);
            let mut u2 = u1.clone();
            let reference = conv.forward_normalized(x.clone(), &mut u1);
            let fast = conv
                .apply_normalized(x.swap_dims(0, 1), &mut u2)
                .swap_dims(0, 1);
            assert_eq!(u1, u2);
            assert!(max_difference(reference, fast) < 1e-5);
        }
    }

    /// The generator as first written, with burn's `conv1d` on `[B, C, T]`: the definition the
    /// channel-major implementation must reproduce.
    fn reference_generator(g: &Generator, canvas: Tensor<3>, latent: Tensor<2>) -> Tensor<3> {
        let [b, _, t] = canvas.dims();
        let h = leaky_relu(g.pitch_in.forward(canvas), SLOPE);
        let h = h.clone() + leaky_relu(g.step_in.forward(h), SLOPE);
        let beats = leaky_relu(g.to_beats.forward(h.clone()), SLOPE);
        let beats = beats + g.latent.forward(latent.unsqueeze_dim(2));
        let beats = beats.clone() + leaky_relu(g.beat1.forward(beats), SLOPE);
        let beats = beats.clone() + leaky_relu(g.beat2.forward(beats), SLOPE);
        let beats = beats.clone() + leaky_relu(g.beat3.forward(beats), SLOPE);
        let cb = beats.dims()[1];
        let up = beats
            .unsqueeze_dim::<4>(3)
            .repeat_dim(3, 4)
            .reshape([b, cb, t]);
        let h = h + g.from_beats.forward(up);
        g.pitch_out
            .forward(leaky_relu(g.step_out.forward(h), SLOPE))
    }

    fn reference_critic(
        c: &Critic,
        roll: Tensor<3>,
        side: Tensor<3>,
        sn: &mut SpectralState,
    ) -> Tensor<2> {
        let x = Tensor::cat(vec![roll, side], 1);
        let h = leaky_relu(c.pitch_in.forward_normalized(x, &mut sn.u[0]), SLOPE);
        let h = leaky_relu(c.to_beats.forward_normalized(h, &mut sn.u[1]), SLOPE);
        let h = h.clone() + leaky_relu(c.beat.forward_normalized(h, &mut sn.u[2]), SLOPE);
        let h = leaky_relu(c.to_bars.forward_normalized(h, &mut sn.u[3]), SLOPE);
        let score = c.score.forward_normalized(h.mean_dim(2), &mut sn.u[4]);
        let [b, _, _] = score.dims();
        score.reshape([b, 1])
    }

    #[test]
    fn networks_match_their_conv1d_definition() {
        let config = tiny_config();
        let device = Device::flex();
        let (g, c) = config.init(11, &device);
        let layout = config.layout();
        let mut rng = Rng::derive(4, 2, 0);
        let canvas = random(
            [3, layout.input_channels(), layout.steps],
            &mut rng,
            &device,
        );
        let z: Vec<f32> = (0..3 * config.latent).map(|_| rng.normal()).collect();
        let z = Tensor::<2>::from_data(TensorData::new(z, [3, config.latent]), &device);
        let fast = g.forward(canvas.clone(), z.clone());
        let reference = reference_generator(&g, canvas, z);
        assert!(max_difference(fast.clone(), reference) < 1e-4);
        let side = random([3, layout.roles.len() + 4, layout.steps], &mut rng, &device);
        let mut sn1 = SpectralState::new(&c, 3);
        let mut sn2 = sn1.clone();
        let a = c.forward(fast.clone(), side.clone(), &mut sn1);
        let b = reference_critic(&c, fast, side, &mut sn2);
        assert_eq!(sn1, sn2);
        let diff = (a - b).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-4, "{diff}");
    }

    #[test]
    fn spectral_norm_bounds_the_layer_gain() {
        let config = tiny_config();
        let device = Device::flex();
        let (_, c) = config.init(5, &device);
        let mut u = SpectralState::new(&c, 5).u[0].clone();
        let layer = &c.pitch_in;
        let [_, cin, _] = layer.weight.dims();
        let x = Tensor::<3>::from_data(
            TensorData::new(
                (0..cin)
                    .map(|i| (i as f32 * 0.37).sin())
                    .collect::<Vec<_>>(),
                [1, cin, 1],
            ),
            &device,
        );
        for _ in 0..30 {
            let _ = layer.forward_normalized(x.clone(), &mut u);
        }
        let bias = layer.bias.val().unsqueeze_dim::<2>(0).unsqueeze_dim::<3>(2);
        let y = layer.forward_normalized(x.clone(), &mut u) - bias;
        let gain = y.powf_scalar(2.0).sum().into_scalar::<f32>().sqrt()
            / x.powf_scalar(2.0).sum().into_scalar::<f32>().sqrt();
        assert!(gain <= 1.0 + 1e-3, "gain {gain}");
        assert!(gain > 0.05, "gain {gain}");
    }
}
