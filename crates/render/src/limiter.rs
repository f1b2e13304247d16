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
