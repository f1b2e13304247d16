//! From notes on a step grid to the flat `f32` planes the networks read, and back.
//!
//! # Layout of one example (`T` = [`Layout::steps`], padded to a multiple of 16)
//! - roll: `[2 * total_rows, T]`. Role `r` owns rows `offset[r] .. offset[r] + rows[r]`; its
//!   block of channels is `2 * offset[r] ..`, first its onset rows, then its sustain rows.
//!   Each role has its own pitch window (drums ~ a dozen rows, bass a few octaves), which is
//!   what keeps the model small.
//! - known: `[roles, T]`, 1 where the cells of a role at a step are given (the canvas mask).
//! - position: `[POSITION_CHANNELS, T]`: valid step, downbeat, beat, phase in the bar. This is
//!   how one model handles 4/4, 3/4 and 6/8: windows are whole bars padded to `T` and masked.

use crate::rng::Rng;
use orchestrion_music::TrackRole;

/// Channels that tell the networks where bars and beats are.
pub const POSITION_CHANNELS: usize = 4;

/// One note on the grid, relative to the window start (the model's view of a `WindowNote`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridNote {
    /// Index into the model's roles (0 = melody).
    pub role: usize,
    pub pitch: u8,
    pub velocity: u8,
    pub start: u32,
    pub duration: u32,
}

/// Where each role's rows live in the planes.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub roles: Vec<TrackRole>,
    pub lowest: Vec<u8>,
    pub rows: Vec<usize>,
    pub offsets: Vec<usize>,
    pub total_rows: usize,
    /// Padded window length in steps.
    pub steps: usize,
    pub steps_per_beat: usize,
}

impl Layout {
    pub fn new(
        roles: &[TrackRole],
        pitch_ranges: &[(u8, u8)],
        max_window_steps: u32,
        steps_per_beat: u32,
    ) -> Layout {
        let rows: Vec<usize> = pitch_ranges.iter().map(|&(_, n)| n as usize).collect();
        let mut offsets = Vec::with_capacity(rows.len());
        let mut total = 0;
        for &n in &rows {
            offsets.push(total);
            total += n;
        }
        Layout {
            roles: roles.to_vec(),
            lowest: pitch_ranges.iter().map(|&(lo, _)| lo).collect(),
            rows,
            offsets,
            total_rows: total,
            steps: (max_window_steps as usize).div_ceil(16) * 16,
            steps_per_beat: steps_per_beat as usize,
        }
    }

    pub fn roll_channels(&self) -> usize {
        2 * self.total_rows
    }

    /// Channels the generator reads: the canvas, the mask per role and the positions.
    pub fn input_channels(&self) -> usize {
        self.roll_channels() + self.roles.len() + POSITION_CHANNELS
    }

    /// Channel of a cell plane: `plane` 0 = onset, 1 = sustain.
    pub fn channel(&self, role: usize, plane: usize, row: usize) -> usize {
        2 * self.offsets[role] + plane * self.rows[role] + row
    }

    /// Pitch row of `pitch` in `role`'s window, if it fits.
    pub fn row_of(&self, role: usize, pitch: i32) -> Option<usize> {
        let row = pitch - self.lowest[role] as i32;
        (row >= 0 && (row as usize) < self.rows[role]).then_some(row as usize)
    }

    pub fn is_drum(&self, role: usize) -> bool {
        self.roles[role] == TrackRole::Drums
    }

    /// The role every roll channel belongs to.
    pub fn channel_roles(&self) -> Vec<usize> {
        let mut out = vec![0; self.roll_channels()];
        for r in 0..self.roles.len() {
            for plane in 0..2 {
                for row in 0..self.rows[r] {
                    out[self.channel(r, plane, row)] = r;
                }
            }
        }
        out
    }
}

/// One window made ready for the networks (all planes `[channels, T]`, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub roll: Vec<f32>,
    pub known: Vec<f32>,
    pub position: Vec<f32>,
    /// Real (unpadded) steps.
    pub valid_steps: usize,
    /// Steps of each bar, in order.
    pub bar_steps: Vec<u32>,
}

/// Position planes for bars of the given lengths.
pub fn position_planes(layout: &Layout, bar_steps: &[u32]) -> Vec<f32> {
    let t = layout.steps;
    let mut out = vec![0.0; POSITION_CHANNELS * t];
    let mut step = 0usize;
    for &len in bar_steps {
        for i in 0..len as usize {
            if step >= t {
                break;
            }
            out[step] = 1.0;
            out[t + step] = (i == 0) as u8 as f32;
            out[2 * t + step] = (i % layout.steps_per_beat == 0) as u8 as f32;
            out[3 * t + step] = i as f32 / len as f32;
            step += 1;
        }
    }
    out
}

/// Draw notes into onset/sustain planes. Pitched roles are shifted by `transpose`; notes that
/// leave their role's window are dropped (drums are never transposed).
pub fn rasterize(
    layout: &Layout,
    valid_steps: usize,
    notes: &[GridNote],
    transpose: i32,
) -> Vec<f32> {
    let t = layout.steps;
    let mut roll = vec![0.0; layout.roll_channels() * t];
    let limit = valid_steps.min(t);
    for note in notes {
        if note.role >= layout.roles.len() {
            continue;
        }
        let shift = if layout.is_drum(note.role) {
            0
        } else {
            transpose
        };
        let Some(row) = layout.row_of(note.role, note.pitch as i32 + shift) else {
            continue;
        };
        let start = note.start as usize;
        if start >= limit {
            continue;
        }
        let end = (start + note.duration.max(1) as usize).min(limit);
        roll[layout.channel(note.role, 0, row) * t + start] = 1.0;
        let sustain = layout.channel(note.role, 1, row) * t;
        for s in start..end {
            roll[sustain + s] = 1.0;
        }
    }
    roll
}

/// Which cells of a window are given to the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canvas {
    /// Steps at the window start whose accompaniment is known (the previous window's last bar).
    pub context_steps: usize,
    /// Bit `r` set: role `r` is locked (known in the whole window).
    pub locked: u64,
}

/// The mask `[roles, T]`: melody always known, padding always known (and empty), context steps
/// and locked roles known.
pub fn known_plane(layout: &Layout, valid_steps: usize, canvas: Canvas) -> Vec<f32> {
    let t = layout.steps;
    let mut known = vec![0.0; layout.roles.len() * t];
    for r in 0..layout.roles.len() {
        let whole = r == 0 || canvas.locked & (1 << r) != 0;
        for s in 0..t {
            if whole || s >= valid_steps || s < canvas.context_steps {
                known[r * t + s] = 1.0;
            }
        }
    }
    known
}

/// A random canvas as used in training, so one model learns plain generation, continuation and
/// lock-and-regenerate.
pub fn random_canvas(layout: &Layout, first_bar_steps: usize, rng: &mut Rng) -> Canvas {
    let context_steps = if rng.uniform() < 0.5 {
        first_bar_steps
    } else {
        0
    };
    let mut locked = 0u64;
    for r in 1..layout.roles.len() {
        if rng.uniform() < 0.15 {
            locked |= 1 << r;
        }
    }
    // At least one role must stay to generate, or the example teaches nothing.
    if locked.count_ones() as usize + 1 >= layout.roles.len() {
        locked = 0;
    }
    Canvas {
        context_steps,
        locked,
    }
}

/// Expand a `[roles, T]` mask to every roll channel: `[2 * total_rows, T]`.
pub fn cell_mask(layout: &Layout, known: &[f32]) -> Vec<f32> {
    let t = layout.steps;
    let roles = layout.channel_roles();
    let mut out = vec![0.0; roles.len() * t];
    for (c, &r) in roles.iter().enumerate() {
        out[c * t..(c + 1) * t].copy_from_slice(&known[r * t..(r + 1) * t]);
    }
    out
}

/// Turn probability planes into notes: a note starts where the onset plane is above
/// `onset_threshold` (and the cell sounds), and lasts while the sustain plane stays above
/// `sustain_threshold` until the next onset of the same pitch.
pub fn binarize(
    layout: &Layout,
    probs: &[f32],
    valid_steps: usize,
    role: usize,
    onset_threshold: f32,
    sustain_threshold: f32,
) -> Vec<GridNote> {
    let t = layout.steps;
    let limit = valid_steps.min(t);
    let mut notes = Vec::new();
    for row in 0..layout.rows[role] {
        let onset = &probs[layout.channel(role, 0, row) * t..][..t];
        let sustain = &probs[layout.channel(role, 1, row) * t..][..t];
        let mut s = 0;
        while s < limit {
            if onset[s] > onset_threshold {
                let mut end = s + 1;
                while end < limit
                    && sustain[end] > sustain_threshold
                    && onset[end] <= onset_threshold
                {
                    end += 1;
                }
                if layout.is_drum(role) {
                    end = s + 1;
                }
                notes.push(GridNote {
                    role,
                    pitch: layout.lowest[role] + row as u8,
                    velocity: 0,
                    start: s as u32,
                    duration: (end - s) as u32,
                });
                s = end.max(s + 1);
            } else {
                s += 1;
            }
        }
    }
    notes.sort_by_key(|n| (n.start, n.pitch));
    notes
}

/// A batch of examples as tensors. The planes that only combine with the networks' output
/// (`known_roll`, `hidden`) are computed here once, on the host, so that pasting and the losses
/// cost one tensor operation each instead of four.
pub struct Batch {
    /// `[B, P, T]` the true (or known) cells.
    pub roll: burn::tensor::Tensor<3>,
    /// `[B, P, T]` 1 where a cell is given.
    pub cell_known: burn::tensor::Tensor<3>,
    /// `[B, P, T]` `roll × cell_known`: the given cells, zero elsewhere.
    pub known_roll: burn::tensor::Tensor<3>,
    /// `[B, P, T]` `1 − cell_known`: 1 where the generator writes.
    pub hidden: burn::tensor::Tensor<3>,
    /// `[B, R + 4, T]` the mask per role and the bar positions.
    pub side: burn::tensor::Tensor<3>,
}

impl Batch {
    /// Planes `[B, C, T]`, as the networks' `forward` reads them.
    pub fn new(layout: &Layout, examples: &[Example], device: &burn::tensor::Device) -> Batch {
        Batch::build(layout, examples, device, false)
    }

    /// Planes `[C, B, T]`, for the networks' `forward_channel_major` (training).
    pub fn channel_major(
        layout: &Layout,
        examples: &[Example],
        device: &burn::tensor::Device,
    ) -> Batch {
        Batch::build(layout, examples, device, true)
    }

    fn build(
        layout: &Layout,
        examples: &[Example],
        device: &burn::tensor::Device,
        channel_major: bool,
    ) -> Batch {
        use burn::tensor::{Tensor, TensorData};
        let (b, t, p) = (examples.len(), layout.steps, layout.roll_channels());
        let s = layout.roles.len() + POSITION_CHANNELS;
        let roles = layout.channel_roles();
        let mut roll = vec![0.0; b * p * t];
        let mut cells = vec![0.0; b * p * t];
        let mut known_roll = vec![0.0; b * p * t];
        let mut hidden = vec![0.0; b * p * t];
        let mut side = vec![0.0; b * s * t];
        // Where row `c` of example `i` starts in a plane of `channels` rows.
        let at = |i: usize, c: usize, channels: usize| match channel_major {
            true => (c * b + i) * t,
            false => (i * channels + c) * t,
        };
        for (i, e) in examples.iter().enumerate() {
            for (c, &role) in roles.iter().enumerate() {
                let known = &e.known[role * t..(role + 1) * t];
                let cell = &e.roll[c * t..(c + 1) * t];
                let o = at(i, c, p);
                roll[o..o + t].copy_from_slice(cell);
                cells[o..o + t].copy_from_slice(known);
                for (j, (k, v)) in known.iter().zip(cell).enumerate() {
                    known_roll[o + j] = k * v;
                    hidden[o + j] = 1.0 - k;
                }
            }
            for (c, row) in e.known.chunks(t).chain(e.position.chunks(t)).enumerate() {
                let o = at(i, c, s);
                side[o..o + t].copy_from_slice(row);
            }
        }
        let dims = |channels: usize| match channel_major {
            true => [channels, b, t],
            false => [b, channels, t],
        };
        let plane = |values: Vec<f32>| Tensor::from_data(TensorData::new(values, dims(p)), device);
        Batch {
            roll: plane(roll),
            cell_known: plane(cells),
            known_roll: plane(known_roll),
            hidden: plane(hidden),
            side: Tensor::from_data(TensorData::new(side, dims(s)), device),
        }
    }

    /// The generator's input: known cells filled, unknown cells zero, then mask and positions
    /// (`[B, C, T]` batches).
    pub fn canvas(&self) -> burn::tensor::Tensor<3> {
        burn::tensor::Tensor::cat(vec![self.known_roll.clone(), self.side.clone()], 1)
    }

    /// [`Batch::canvas`] of a [`Batch::channel_major`] batch: `[C, B, T]`.
    pub fn canvas_channel_major(&self) -> burn::tensor::Tensor<3> {
        burn::tensor::Tensor::cat(vec![self.known_roll.clone(), self.side.clone()], 0)
    }

    /// Known cells pasted over the generator's probabilities: what the critic sees and what is
    /// binarized, so given parts can never be changed by the generator.
    pub fn paste(&self, probs: burn::tensor::Tensor<3>) -> burn::tensor::Tensor<3> {
        self.known_roll.clone() + probs * self.hidden.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::new(
            &[TrackRole::Melody, TrackRole::Drums, TrackRole::Bass],
            &[(48, 36), (35, 12), (28, 36)],
            64,
            4,
        )
    }

    #[test]
    fn rasterize_then_binarize_gives_the_notes_back() {
        let l = layout();
        let notes = vec![
            GridNote {
                role: 2,
                pitch: 40,
                velocity: 0,
                start: 0,
                duration: 4,
            },
            GridNote {
                role: 2,
                pitch: 40,
                velocity: 0,
                start: 4,
                duration: 3,
            },
            GridNote {
                role: 1,
                pitch: 36,
                velocity: 0,
                start: 8,
                duration: 1,
            },
        ];
        let roll = rasterize(&l, 64, &notes, 0);
        let bass = binarize(&l, &roll, 64, 2, 0.5, 0.5);
        assert_eq!(bass, notes[..2].to_vec(), "repeated notes stay apart");
        assert_eq!(binarize(&l, &roll, 64, 1, 0.5, 0.5), notes[2..].to_vec());
    }

    #[test]
    fn transposition_moves_pitched_roles_only_and_drops_out_of_range() {
        let l = layout();
        let notes = vec![
            GridNote {
                role: 2,
                pitch: 40,
                velocity: 0,
                start: 0,
                duration: 2,
            },
            GridNote {
                role: 1,
                pitch: 36,
                velocity: 0,
                start: 0,
                duration: 1,
            },
            GridNote {
                role: 2,
                pitch: 63,
                velocity: 0,
                start: 0,
                duration: 1,
            },
        ];
        let roll = rasterize(&l, 64, &notes, 2);
        let bass = binarize(&l, &roll, 64, 2, 0.5, 0.5);
        assert_eq!(bass.len(), 1);
        assert_eq!(bass[0].pitch, 42);
        assert_eq!(binarize(&l, &roll, 64, 1, 0.5, 0.5)[0].pitch, 36);
    }

    #[test]
    fn channel_major_batch_is_the_transposed_batch() {
        let l = layout();
        let mut rng = Rng::derive(3, 1, 0);
        let examples: Vec<Example> = (0..3)
            .map(|i| {
                let notes = vec![GridNote {
                    role: 1 + i % 2,
                    pitch: 40 + i as u8,
                    velocity: 0,
                    start: 4 * i as u32,
                    duration: 3,
                }];
                let canvas = random_canvas(&l, 16, &mut rng);
                Example {
                    roll: rasterize(&l, 48, &notes, 0),
                    known: known_plane(&l, 48, canvas),
                    position: position_planes(&l, &[16, 16, 16]),
                    valid_steps: 48,
                    bar_steps: vec![16, 16, 16],
                }
            })
            .collect();
        let device = burn::tensor::Device::flex();
        let plain = Batch::new(&l, &examples, &device);
        let major = Batch::channel_major(&l, &examples, &device);
        let same = |a: burn::tensor::Tensor<3>, b: burn::tensor::Tensor<3>| {
            let a: Vec<f32> = a.swap_dims(0, 1).into_data().try_to_vec().unwrap();
            let b: Vec<f32> = b.into_data().try_to_vec().unwrap();
            assert_eq!(a, b);
        };
        same(plain.roll.clone(), major.roll.clone());
        same(plain.cell_known.clone(), major.cell_known.clone());
        same(plain.known_roll.clone(), major.known_roll.clone());
        same(plain.hidden.clone(), major.hidden.clone());
        same(plain.side.clone(), major.side.clone());
        same(plain.canvas(), major.canvas_channel_major());
        assert!(plain.known_roll.clone().sum().into_scalar::<f32>() > 0.0);
    }

    #[test]
    fn known_plane_covers_melody_padding_context_and_locks() {
        let l = layout();
        let k = known_plane(
            &l,
            48,
            Canvas {
                context_steps: 12,
                locked: 1 << 1,
            },
        );
        let t = l.steps;
        assert!(k[..t].iter().all(|&v| v == 1.0), "melody always known");
        assert!(k[t..2 * t].iter().all(|&v| v == 1.0), "locked drums");
        let bass = &k[2 * t..3 * t];
        assert!(bass[..12].iter().all(|&v| v == 1.0));
        assert!(bass[12..48].iter().all(|&v| v == 0.0));
        assert!(
            bass[48..].iter().all(|&v| v == 1.0),
            "padding known (empty)"
        );
    }
}
