//! The built-in synth: a small General MIDI instrument that needs no SoundFont, so a machine
//! without one still hears its compositions (and tests run anywhere).
//!
//! Pitched programs play band-limited wavetables built from a few harmonics, one recipe per GM
//! family of eight programs (piano, organ, guitar, bass, strings, ...), under an
//! attack/decay/sustain/release envelope. Drums are synthesized from pitch-swept sines and
//! filtered noise per GM drum-map key. It aims at "recognizable", not at realism.

use std::f32::consts::{FRAC_PI_2, TAU};
use std::sync::OnceLock;

/// Voices sounding at once; the quietest released (or else the oldest) is dropped beyond it.
const MAX_VOICES: usize = 64;
/// Samples per wavetable cycle (power of two for cheap wrapping).
const TABLE_SIZE: usize = 2048;
/// Harmonic limits of the band-limited table levels, richest first.
const LEVEL_LIMITS: [usize; 5] = [16, 8, 4, 2, 1];
/// A voice below this level is finished.
const SILENT: f32 = 1e-4;
/// Overall level: a few voices together stay under full scale before the limiter.
const VOICE_GAIN: f32 = 0.16;

/// How one GM family of eight programs sounds.
struct Patch {
    /// Amplitude of harmonic 1, 2, 3, ...
    harmonics: &'static [f32],
    attack_s: f32,
    /// Time constant of the fall from the peak towards `sustain`.
    decay_s: f32,
    sustain: f32,
    release_s: f32,
    /// A second oscillator this many cents sharp, for ensemble width (0 = none).
    detune_cents: f32,
    gain: f32,
}

const fn patch(
    harmonics: &'static [f32],
    attack_s: f32,
    decay_s: f32,
    sustain: f32,
    release_s: f32,
    detune_cents: f32,
    gain: f32,
) -> Patch {
    Patch {
        harmonics,
        attack_s,
        decay_s,
        sustain,
        release_s,
        detune_cents,
        gain,
    }
}

const SAW: &[f32] = &[
    1.0, 0.5, 0.333, 0.25, 0.2, 0.167, 0.143, 0.125, 0.111, 0.1, 0.091, 0.083, 0.077, 0.071, 0.067,
    0.0625,
];
const SQUARE: &[f32] = &[
    1.0, 0.0, 0.333, 0.0, 0.2, 0.0, 0.143, 0.0, 0.111, 0.0, 0.091, 0.0, 0.077,
];
const PIANO: &[f32] = &[1.0, 0.45, 0.3, 0.12, 0.1, 0.05, 0.04, 0.02];
const BELL: &[f32] = &[1.0, 0.0, 0.0, 0.35, 0.0, 0.0, 0.0, 0.12];
const ORGAN: &[f32] = &[1.0, 0.6, 0.35, 0.3, 0.0, 0.2, 0.0, 0.15];
const PLUCK: &[f32] = &[1.0, 0.55, 0.35, 0.22, 0.14, 0.09, 0.05];
const BASS: &[f32] = &[1.0, 0.5, 0.22, 0.1, 0.05];
const FLUTE: &[f32] = &[1.0, 0.2, 0.08];
const SINE: &[f32] = &[1.0];

/// One patch per GM family (program / 8).
static FAMILIES: [Patch; 16] = [
    patch(PIANO, 0.002, 1.2, 0.0, 0.25, 0.0, 1.0), // piano
    patch(BELL, 0.001, 0.5, 0.0, 0.3, 0.0, 0.9),   // chromatic percussion
    patch(ORGAN, 0.01, 0.1, 0.9, 0.06, 0.0, 0.6),  // organ
    patch(PLUCK, 0.002, 0.7, 0.0, 0.15, 0.0, 0.9), // guitar
    patch(BASS, 0.004, 0.6, 0.35, 0.08, 0.0, 1.3), // bass
    patch(SAW, 0.08, 0.4, 0.8, 0.3, 7.0, 0.45),    // strings
    patch(SAW, 0.1, 0.4, 0.8, 0.4, 9.0, 0.4),      // ensemble
    patch(SAW, 0.04, 0.3, 0.75, 0.12, 0.0, 0.55),  // brass
    patch(SQUARE, 0.03, 0.3, 0.8, 0.1, 0.0, 0.55), // reed
    patch(FLUTE, 0.04, 0.3, 0.85, 0.12, 0.0, 0.8), // pipe
    patch(SAW, 0.005, 0.3, 0.7, 0.1, 5.0, 0.45),   // synth lead
    patch(SAW, 0.3, 0.8, 0.8, 0.8, 12.0, 0.35),    // synth pad
    patch(SQUARE, 0.2, 0.8, 0.7, 0.8, 10.0, 0.35), // synth effects
    patch(PLUCK, 0.002, 0.5, 0.0, 0.15, 0.0, 0.9), // ethnic
    patch(BELL, 0.001, 0.25, 0.0, 0.15, 0.0, 0.9), // percussive
    patch(SINE, 0.01, 0.5, 0.5, 0.2, 0.0, 0.7),    // sound effects
];

/// `[family][level][sample]` wavetables, each with one guard sample for interpolation.
fn tables() -> &'static Vec<Vec<Vec<f32>>> {
    static TABLES: OnceLock<Vec<Vec<Vec<f32>>>> = OnceLock::new();
    TABLES.get_or_init(|| {
        FAMILIES
            .iter()
            .map(|patch| {
                LEVEL_LIMITS
                    .iter()
                    .map(|&limit| wavetable(&patch.harmonics[..patch.harmonics.len().min(limit)]))
                    .collect()
            })
            .collect()
    })
}

fn wavetable(harmonics: &[f32]) -> Vec<f32> {
    let mut table: Vec<f32> = (0..=TABLE_SIZE)
        .map(|i| {
            let phase = TAU * i as f32 / TABLE_SIZE as f32;
            harmonics
                .iter()
                .enumerate()
                .map(|(h, &amp)| amp * (phase * (h + 1) as f32).sin())
                .sum()
        })
        .collect();
    let peak = table.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-6);
    table.iter_mut().for_each(|x| *x /= peak);
    table
}

#[derive(Clone, Copy)]
enum Stage {
    Attack,
    Decay,
    Release,
}

/// A pitched voice reading a wavetable.
struct Tone {
    table: &'static [f32],
    phase: f32,
    step: f32,
    /// Second, detuned oscillator (phase, step); step 0 when the patch has none.
    phase2: f32,
    step2: f32,
    level: f32,
    stage: Stage,
    attack_step: f32,
    decay_coef: f32,
    sustain: f32,
    release_coef: f32,
}

#[derive(Clone, Copy)]
enum DrumNoise {
    /// Raw white noise (snares, claps).
    White,
    /// First difference of white noise: bright, for hats and cymbals.
    Bright,
}

/// A drum hit: a pitch-swept sine plus decaying noise.
struct Drum {
    phase: f32,
    freq: f32,
    freq_end: f32,
    sweep_coef: f32,
    tone: f32,
    tone_coef: f32,
    noise: f32,
    noise_coef: f32,
    noise_kind: DrumNoise,
    previous_noise: f32,
    rng: u32,
}

enum Sound {
    Tone(Tone),
    Drum(Drum),
}

struct Voice {
    channel: u8,
    key: u8,
    started: u64,
    gain_left: f32,
    gain_right: f32,
    sound: Sound,
}

impl Voice {
    fn level(&self) -> f32 {
        match &self.sound {
            Sound::Tone(tone) => tone.level,
            Sound::Drum(drum) => drum.tone.max(drum.noise),
        }
    }

    fn released(&self) -> bool {
        matches!(
            &self.sound,
            Sound::Tone(Tone {
                stage: Stage::Release,
                ..
            }) | Sound::Drum(_)
        )
    }
}

#[derive(Clone, Copy)]
struct Channel {
    program: u8,
    volume: u8,
    pan: u8,
}

/// The built-in synth. Same message set as the SoundFont synth: program, volume (CC 7),
/// pan (CC 10), note on/off; channel 10 (index 9) plays drums.
pub struct BuiltinSynth {
    sample_rate: f32,
    channels: [Channel; 16],
    voices: Vec<Voice>,
    notes_started: u64,
}

impl BuiltinSynth {
    pub fn new(sample_rate: u32) -> Self {
        BuiltinSynth {
            sample_rate: sample_rate as f32,
            channels: [Channel {
                program: 0,
                volume: 100,
                pan: 64,
            }; 16],
            voices: Vec::with_capacity(MAX_VOICES),
            notes_started: 0,
        }
    }

    pub fn program_change(&mut self, channel: u8, program: u8) {
        self.channels[usize::from(channel & 15)].program = program & 0x7f;
    }

    pub fn control_change(&mut self, channel: u8, controller: u8, value: u8) {
        let state = &mut self.channels[usize::from(channel & 15)];
        match controller {
            7 => state.volume = value.min(127),
            10 => state.pan = value.min(127),
            _ => {}
        }
    }

    pub fn note_off(&mut self, channel: u8, key: u8) {
        for voice in &mut self.voices {
            if voice.channel == channel
                && voice.key == key
                && let Sound::Tone(tone) = &mut voice.sound
            {
                tone.stage = Stage::Release;
            }
        }
    }

    pub fn note_on(&mut self, channel: u8, key: u8, velocity: u8) {
        if velocity == 0 {
            self.note_off(channel, key);
            return;
        }
        let state = self.channels[usize::from(channel & 15)];
        let loudness = (f32::from(velocity) / 127.0).powf(1.6)
            * (f32::from(state.volume) / 127.0).powi(2)
            * VOICE_GAIN;
        let angle = f32::from(state.pan) / 127.0 * FRAC_PI_2;
        let (sound, gain) = if channel == crate::schedule::DRUM_CHANNEL {
            (Sound::Drum(self.drum(key)), loudness * 1.4)
        } else {
            let patch = &FAMILIES[usize::from(state.program / 8)];
            (
                Sound::Tone(self.tone(state.program, key)),
                loudness * patch.gain,
            )
        };
        if self.voices.len() >= MAX_VOICES {
            let victim = (0..self.voices.len())
                .min_by(|&a, &b| {
                    let (va, vb) = (&self.voices[a], &self.voices[b]);
                    (!va.released(), va.level(), va.started)
                        .partial_cmp(&(!vb.released(), vb.level(), vb.started))
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                .unwrap_or(0);
            self.voices.swap_remove(victim);
        }
        self.notes_started += 1;
        self.voices.push(Voice {
            channel,
            key,
            started: self.notes_started,
            gain_left: gain * angle.cos(),
            gain_right: gain * angle.sin(),
            sound,
        });
    }

    fn seconds_to_coef(&self, seconds: f32) -> f32 {
        // Per-sample factor that falls to 1/e in `seconds`.
        (-1.0 / (seconds.max(1e-4) * self.sample_rate)).exp()
    }

    fn tone(&self, program: u8, key: u8) -> Tone {
        let family = usize::from(program / 8);
        let patch = &FAMILIES[family];
        let freq = 440.0 * 2f32.powf((f32::from(key) - 69.0) / 12.0);
        let nyquist_harmonics = (0.45 * self.sample_rate / freq) as usize;
        let level = LEVEL_LIMITS
            .iter()
            .position(|&limit| limit <= nyquist_harmonics.max(1))
            .unwrap_or(LEVEL_LIMITS.len() - 1);
        let step = freq * TABLE_SIZE as f32 / self.sample_rate;
        // Low notes of decaying instruments ring longer, as real strings do.
        let decay = patch.decay_s * (1.0 + (60.0 - f32::from(key)).max(0.0) / 24.0);
        Tone {
            table: &tables()[family][level],
            phase: 0.0,
            step,
            phase2: 0.0,
            step2: if patch.detune_cents > 0.0 {
                step * 2f32.powf(patch.detune_cents / 1200.0)
            } else {
                0.0
            },
            level: 0.0,
            stage: Stage::Attack,
            attack_step: 1.0 / (patch.attack_s * self.sample_rate).max(1.0),
            decay_coef: self.seconds_to_coef(decay),
            sustain: patch.sustain,
            release_coef: self.seconds_to_coef(patch.release_s / 4.0),
        }
    }

    fn drum(&self, key: u8) -> Drum {
        // (start Hz, end Hz, sweep s, tone decay s, tone level, noise decay s, noise level, noise)
        let (freq, freq_end, sweep, tone_s, tone, noise_s, noise, kind) = match key {
            35 | 36 => (160.0, 48.0, 0.03, 0.18, 1.0, 0.01, 0.25, DrumNoise::White),
            37 => (900.0, 800.0, 0.01, 0.01, 0.4, 0.02, 0.5, DrumNoise::Bright),
            38 | 40 => (220.0, 180.0, 0.02, 0.05, 0.6, 0.09, 0.8, DrumNoise::White),
            39 => (0.0, 0.0, 0.01, 0.01, 0.0, 0.07, 0.9, DrumNoise::White),
            41 | 43 | 45 | 47 | 48 | 50 => {
                let base = 70.0 + f32::from(key - 41) * 18.0;
                (
                    base * 1.6,
                    base,
                    0.05,
                    0.25,
                    0.9,
                    0.03,
                    0.15,
                    DrumNoise::White,
                )
            }
            42 | 44 => (0.0, 0.0, 0.01, 0.01, 0.0, 0.025, 0.5, DrumNoise::Bright),
            46 => (0.0, 0.0, 0.01, 0.01, 0.0, 0.18, 0.45, DrumNoise::Bright),
            49 | 52 | 55 | 57 => (0.0, 0.0, 0.01, 0.01, 0.0, 0.6, 0.45, DrumNoise::Bright),
            51 | 53 | 59 => (
                3200.0,
                3200.0,
                0.01,
                0.3,
                0.08,
                0.35,
                0.3,
                DrumNoise::Bright,
            ),
            _ => (600.0, 400.0, 0.02, 0.04, 0.4, 0.05, 0.4, DrumNoise::Bright),
        };
        Drum {
            phase: 0.0,
            freq,
            freq_end,
            sweep_coef: self.seconds_to_coef(sweep),
            tone,
            tone_coef: self.seconds_to_coef(tone_s),
            noise,
            noise_coef: self.seconds_to_coef(noise_s),
            noise_kind: kind,
            previous_noise: 0.0,
            rng: 0x9e37_79b9 ^ (u32::from(key) << 16 | 0x5bd1),
        }
    }

    /// Adds the next `left.len()` frames of every voice into silence-cleared buffers.
    pub fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        left.fill(0.0);
        right.fill(0.0);
        let table_len = TABLE_SIZE as f32;
        let inverse_rate = 1.0 / self.sample_rate;
        for voice in &mut self.voices {
            let (gain_left, gain_right) = (voice.gain_left, voice.gain_right);
            match &mut voice.sound {
                Sound::Tone(tone) => {
                    for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                        match tone.stage {
                            Stage::Attack => {
                                tone.level += tone.attack_step;
                                if tone.level >= 1.0 {
                                    tone.level = 1.0;
                                    tone.stage = Stage::Decay;
                                }
                            }
                            Stage::Decay => {
                                tone.level =
                                    tone.sustain + (tone.level - tone.sustain) * tone.decay_coef;
                            }
                            Stage::Release => tone.level *= tone.release_coef,
                        }
                        let mut sample = read(tone.table, tone.phase);
                        tone.phase += tone.step;
                        if tone.phase >= table_len {
                            tone.phase -= table_len;
                        }
                        if tone.step2 > 0.0 {
                            sample = 0.7 * (sample + read(tone.table, tone.phase2));
                            tone.phase2 += tone.step2;
                            if tone.phase2 >= table_len {
                                tone.phase2 -= table_len;
                            }
                        }
                        let value = sample * tone.level;
                        *l += value * gain_left;
                        *r += value * gain_right;
                    }
                }
                Sound::Drum(drum) => {
                    for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                        drum.rng ^= drum.rng << 13;
                        drum.rng ^= drum.rng >> 17;
                        drum.rng ^= drum.rng << 5;
                        let white = drum.rng as f32 / u32::MAX as f32 * 2.0 - 1.0;
                        let noise = match drum.noise_kind {
                            DrumNoise::White => white,
                            DrumNoise::Bright => 0.5 * (white - drum.previous_noise),
                        };
                        drum.previous_noise = white;
                        let tone = if drum.tone > SILENT {
                            drum.phase = (drum.phase + TAU * drum.freq * inverse_rate) % TAU;
                            drum.freq =
                                drum.freq_end + (drum.freq - drum.freq_end) * drum.sweep_coef;
                            drum.phase.sin() * drum.tone
                        } else {
                            0.0
                        };
                        let value = tone + noise * drum.noise;
                        drum.tone *= drum.tone_coef;
                        drum.noise *= drum.noise_coef;
                        *l += value * gain_left;
                        *r += value * gain_right;
                    }
                }
            }
        }
        self.voices.retain(|voice| match &voice.sound {
            // Decaying instruments (sustain 0) also end once inaudible, key still held.
            Sound::Tone(tone) => match tone.stage {
                Stage::Attack => true,
                Stage::Decay => tone.sustain > 0.0 || tone.level > SILENT,
                Stage::Release => tone.level > SILENT,
            },
            Sound::Drum(drum) => drum.tone > SILENT || drum.noise > SILENT,
        });
    }
}

#[inline]
fn read(table: &[f32], phase: f32) -> f32 {
    let index = phase as usize;
    let frac = phase - index as f32;
    let a = table[index];
    a + (table[index + 1] - a) * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(samples: &[f32]) -> f32 {
        (samples.iter().map(|x| x * x).sum::<f32>() / samples.len() as f32).sqrt()
    }

    #[test]
    fn every_family_and_drum_key_sounds_and_releases() {
        for program in (0..128).step_by(8) {
            let mut synth = BuiltinSynth::new(44_100);
            synth.program_change(0, program);
            synth.note_on(0, 60, 100);
            let (mut l, mut r) = (vec![0.0; 22_050], vec![0.0; 22_050]);
            synth.render(&mut l, &mut r);
            assert!(rms(&l) > 0.005, "program {program} is silent");
            synth.note_off(0, 60);
            for _ in 0..20 {
                synth.render(&mut l, &mut r);
            }
            assert!(synth.voices.is_empty(), "program {program} never released");
        }
        for key in 35..=81 {
            let mut synth = BuiltinSynth::new(44_100);
            synth.note_on(9, key, 100);
            let (mut l, mut r) = (vec![0.0; 4410], vec![0.0; 4410]);
            synth.render(&mut l, &mut r);
            assert!(rms(&l) > 0.002, "drum {key} is silent");
        }
    }

    #[test]
    fn pan_moves_the_image() {
        let mut synth = BuiltinSynth::new(44_100);
        synth.control_change(0, 10, 0);
        synth.note_on(0, 60, 100);
        let (mut l, mut r) = (vec![0.0; 4410], vec![0.0; 4410]);
        synth.render(&mut l, &mut r);
        assert!(rms(&l) > 100.0 * rms(&r).max(1e-9));
    }
}
