//! Measurements on rendered audio (level, peak, duration), so tests and benchmarks judge a
//! render by what is in the file rather than by trusting the renderer.

use crate::error::{Error, ErrorKind};
use std::io::Read;
use std::ops::Range;

/// A decoded 16-bit PCM WAV: interleaved samples with their format.
#[derive(Debug, Clone)]
pub struct Audio {
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels (2 for our renders).
    pub channels: u16,
    /// Interleaved, full scale = 32768.
    pub samples: Vec<i16>,
}

impl Audio {
    /// Decodes a 16-bit integer WAV from any reader.
    pub fn read(reader: impl Read) -> Result<Self, Error> {
        let mut wav = hound::WavReader::new(reader)?;
        let spec = wav.spec();
        if spec.bits_per_sample != 16 || spec.sample_format != hound::SampleFormat::Int {
            return Err(ErrorKind::Wav(format!(
                "expected 16-bit integer PCM, found {} bits {:?}",
                spec.bits_per_sample, spec.sample_format
            ))
            .into());
        }
        let samples = wav.samples::<i16>().collect::<Result<Vec<_>, _>>()?;
        Ok(Audio {
            sample_rate: spec.sample_rate,
            channels: spec.channels,
            samples,
        })
    }

    /// Decodes WAV bytes.
    pub fn from_wav_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::read(bytes)
    }

    /// Frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }

    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate)
    }

    /// Largest absolute sample as a fraction of full scale (1.0 = clipping).
    pub fn peak(&self) -> f64 {
        self.peak_in(0.0..self.seconds())
    }

    /// RMS level over the whole file as a fraction of full scale.
    pub fn rms(&self) -> f64 {
        self.rms_in(0.0..self.seconds())
    }

    /// Peak over a time range in seconds (clamped to the file).
    pub fn peak_in(&self, seconds: Range<f64>) -> f64 {
        self.slice(seconds)
            .iter()
            .map(|&s| f64::from(s).abs() / 32768.0)
            .fold(0.0, f64::max)
    }

    /// RMS over a time range in seconds (clamped to the file); 0 for an empty range.
    pub fn rms_in(&self, seconds: Range<f64>) -> f64 {
        let slice = self.slice(seconds);
        if slice.is_empty() {
            return 0.0;
        }
        let sum: f64 = slice
            .iter()
            .map(|&s| (f64::from(s) / 32768.0).powi(2))
            .sum();
        (sum / slice.len() as f64).sqrt()
    }

    fn slice(&self, seconds: Range<f64>) -> &[i16] {
        let channels = usize::from(self.channels.max(1));
        let frame =
            |t: f64| ((t.max(0.0) * f64::from(self.sample_rate)) as usize).min(self.frames());
        let (start, end) = (frame(seconds.start), frame(seconds.end));
        if start >= end {
            return &[];
        }
        &self.samples[start * channels..end * channels]
    }
}
