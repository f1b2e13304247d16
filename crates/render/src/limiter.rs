//! A look-ahead peak limiter between the synth and the 16-bit file.
//!
//! The synth's output level depends on the song (how many voices sound together), and a
//! streamed render cannot normalize after the fact without holding every sample. The limiter
//! leaves audio below the ceiling untouched and, when a peak would cross it, lowers the gain
//! smoothly *before* the peak arrives, so the file never clips and never clicks.
//!
//! Gain computer: the gain each frame needs (`ceiling / peak`, at most 1), minimum over the next
//! `lookahead` frames (a monotonic deque), released slowly upwards, then averaged over
//! `lookahead` frames. Every frame of that average is at most the gain the peak needs, so the
//! output stays at or below the ceiling; the average makes the gain ramp instead of jump.

use std::collections::VecDeque;

/// The limiter's ceiling: -1 dBFS, leaving room for converters that overshoot between samples.
pub const CEILING: f32 = 0.891;

/// Streaming stereo limiter with a fixed latency of `lookahead` frames.
pub struct Limiter {
    ceiling: f32,
    lookahead: usize,
    release_per_frame: f32,
    /// Frames waiting for their gain: (left, right), oldest first.
    delay: VecDeque<(f32, f32)>,
    /// Needed gains of the frames in `delay` and the look-ahead, with their frame numbers,
    /// increasing gains from front to back (the front is the window minimum).
    window_min: VecDeque<(u64, f32)>,
    /// Gain after the release stage, before averaging.
    held: f32,
    /// The last `lookahead` held gains, and their sum, for the moving average.
    recent: VecDeque<f32>,
    recent_sum: f64,
    frames_in: u64,
    /// Largest input peak seen (before limiting), for reports.
    pub input_peak: f32,
    /// Smallest gain applied (1.0 when the limiter never acted).
    pub min_gain: f32,
}

impl Limiter {
    /// A limiter at [`CEILING`] with ~1.5 ms look-ahead and ~150 ms release at `sample_rate`.
    pub fn new(sample_rate: u32) -> Self {
        let lookahead = (sample_rate as usize / 666).max(1);
        let release_frames = sample_rate as f32 * 0.15;
        Limiter {
            ceiling: CEILING,
            lookahead,
            release_per_frame: 1.0 / release_frames,
            delay: VecDeque::with_capacity(2 * lookahead + 2),
            window_min: VecDeque::with_capacity(2 * lookahead + 2),
            held: 1.0,
            recent: VecDeque::from(vec![1.0; lookahead]),
            recent_sum: lookahead as f64,
            frames_in: 0,
            input_peak: 0.0,
            min_gain: 1.0,
        }
    }

    /// Frames of delay between input and output.
    pub fn latency(&self) -> usize {
        self.lookahead
    }

    /// Feeds one frame; returns the limited frame `latency()` frames back, once there is one.
    #[inline]
    pub fn push(&mut self, left: f32, right: f32) -> Option<(f32, f32)> {
        let peak = left.abs().max(right.abs());
        self.input_peak = self.input_peak.max(peak);
        let needed = if peak > self.ceiling {
            self.ceiling / peak
        } else {
            1.0
        };
        let frame = self.frames_in;
        self.frames_in += 1;
        while self
            .window_min
            .back()
            .is_some_and(|&(_, gain)| gain >= needed)
        {
            self.window_min.pop_back();
        }
        self.window_min.push_back((frame, needed));
        self.delay.push_back((left, right));
        if self.delay.len() <= self.lookahead {
            return None;
        }
        // The frame leaving now is `frame - lookahead`; its window reaches `frame`.
        let leaving = frame - self.lookahead as u64;
        // Keep needs from `leaving - lookahead` on: every gain averaged into the leaving frame's
        // output was held while that frame was inside its window.
        while self
            .window_min
            .front()
            .is_some_and(|&(at, _)| at + (self.lookahead as u64) < leaving)
        {
            self.window_min.pop_front();
        }
        let window = self.window_min.front().map_or(1.0, |&(_, gain)| gain);
        self.held = (self.held + self.release_per_frame).min(1.0).min(window);
        let oldest = self.recent.pop_front().unwrap_or(1.0);
        self.recent.push_back(self.held);
        self.recent_sum += self.held as f64 - oldest as f64;
        // The `min(window)` only matters for the first frames, whose average still holds the
        // initial gains of 1.
        let gain = ((self.recent_sum / self.lookahead as f64) as f32)
            .min(window)
            .min(1.0);
        self.min_gain = self.min_gain.min(gain);
        let (l, r) = self.delay.pop_front().unwrap_or((0.0, 0.0));
        Some((l * gain, r * gain))
    }
}

impl Limiter {
    /// Feeds a block of frames, handing each limited frame that comes out to `emit` (in order;
    /// the same frames [`Limiter::push`] would return one by one).
    ///
    /// Most of a mix never nears the ceiling: while the limiter is at rest (gain 1 everywhere
    /// in its window) and the block stays under the ceiling, the output is the input delayed,
    /// and the block skips the per-frame gain computer.
    pub fn process(&mut self, left: &[f32], right: &[f32], mut emit: impl FnMut(f32, f32)) {
        let frames = left.len().min(right.len());
        let (left, right) = (&left[..frames], &right[..frames]);
        let peak = left
            .iter()
            .chain(right)
            .fold(0.0f32, |peak, x| peak.max(x.abs()));
        if frames == 0 || peak > self.ceiling || !self.at_rest() {
            for (&l, &r) in left.iter().zip(right) {
                if let Some((l, r)) = self.push(l, r) {
                    emit(l, r);
                }
            }
            return;
        }
        self.input_peak = self.input_peak.max(peak);
        let total = self.delay.len() + frames;
        let out = total.saturating_sub(self.lookahead);
        let from_delay = out.min(self.delay.len());
        for (l, r) in self.delay.drain(..from_delay) {
            emit(l, r);
        }
        let from_input = out - from_delay;
        for (&l, &r) in left[..from_input].iter().zip(&right[..from_input]) {
            emit(l, r);
        }
        self.delay.extend(
            left[from_input..]
                .iter()
                .copied()
                .zip(right[from_input..].iter().copied()),
        );
        self.frames_in += frames as u64;
        // What the per-frame path leaves: one need of 1.0, at the newest frame.
        self.window_min.clear();
        self.window_min.push_back((self.frames_in - 1, 1.0));
        if out > 0 {
            self.min_gain = self.min_gain.min(1.0);
        }
    }

    /// Whether every gain in play is 1: nothing in the window needs less, the release has
    /// come all the way back and the moving average holds only 1s.
    fn at_rest(&mut self) -> bool {
        let rest = self.held == 1.0
            && self.window_min.front().is_none_or(|&(_, gain)| gain >= 1.0)
            && self.recent.iter().all(|&gain| gain == 1.0);
        if rest {
            // The running sum may have drifted by rounding while the limiter worked.
            self.recent_sum = self.lookahead as f64;
        }
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[f32]) -> (Vec<f32>, Limiter) {
        let mut limiter = Limiter::new(44_100);
        let mut out = Vec::new();
        for &x in input.iter().chain(std::iter::repeat_n(&0.0, 200)) {
            if let Some((l, _)) = limiter.push(x, x) {
                out.push(l);
            }
        }
        out.truncate(input.len());
        (out, limiter)
    }

    #[test]
    fn quiet_audio_passes_unchanged_after_the_latency() {
        let input: Vec<f32> = (0..5000).map(|i| 0.5 * (i as f32 * 0.01).sin()).collect();
        let (out, limiter) = run(&input);
        assert_eq!(out, input);
        assert_eq!(limiter.min_gain, 1.0);
    }

    #[test]
    fn block_processing_matches_frame_by_frame() {
        // Quiet stretches (the fast path) around loud bursts (the gain computer), in blocks of
        // uneven sizes, including blocks shorter than the look-ahead.
        let input: Vec<(f32, f32)> = (0..40_000)
            .map(|i| {
                let level = match i / 5000 {
                    1 | 4 => 2.5,
                    6 => 0.95,
                    _ => 0.3,
                };
                let x = level * (i as f32 * 0.031).sin();
                (x, 0.7 * x)
            })
            .collect();
        let mut one = Limiter::new(44_100);
        let expected: Vec<(f32, f32)> = input.iter().filter_map(|&(l, r)| one.push(l, r)).collect();
        let mut blocks = Limiter::new(44_100);
        let mut got = Vec::new();
        let sizes = [7usize, 8192, 13, 300, 4096, 1];
        let mut at = 0;
        for size in sizes.iter().cycle() {
            if at >= input.len() {
                break;
            }
            let end = (at + size).min(input.len());
            let (left, right): (Vec<f32>, Vec<f32>) = input[at..end].iter().copied().unzip();
            blocks.process(&left, &right, |l, r| got.push((l, r)));
            at = end;
        }
        assert_eq!(got, expected);
        assert_eq!(blocks.min_gain, one.min_gain);
        assert_eq!(blocks.input_peak, one.input_peak);
    }

    #[test]
    fn loud_peaks_never_exceed_the_ceiling() {
        // A sine at 3x full scale with sudden bursts: the worst case for a limiter.
        let input: Vec<f32> = (0..30_000)
            .map(|i| {
                let burst = if i < 10_000 && (i / 1000) % 2 == 0 {
                    3.0
                } else {
                    0.2
                };
                burst * (i as f32 * 0.05).sin()
            })
            .collect();
        let (out, limiter) = run(&input);
        let peak = out.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(peak <= CEILING + 1e-6, "peak {peak}");
        assert!(limiter.min_gain < 0.35 && limiter.input_peak > 2.9);
        // Gain comes back up in the quiet parts: they are not squashed forever.
        let quiet_peak = out[29_000..30_000]
            .iter()
            .fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(
            quiet_peak > 0.19,
            "quiet part stayed squashed: {quiet_peak}"
        );
    }
}
