// A small Web Audio synthesizer: one voice recipe per track role plus synthesized drums.
// It needs no samples or SoundFont, so the console plays offline and instantly; the server's
// rendered WAV (a real General MIDI SoundFont) is the high-quality alternative.

let sharedContext = null;

/** One AudioContext for the page; browsers allow it to start only after a user gesture. */
export function audioContext() {
  if (!sharedContext) {
    const Ctor = window.AudioContext || window.webkitAudioContext;
    sharedContext = new Ctor({ latencyHint: 'interactive' });
  }
  if (sharedContext.state === 'suspended') sharedContext.resume();
  return sharedContext;
}

function midiToHz(pitch) {
  return 440 * Math.pow(2, (pitch - 69) / 12);
}

/** Oscillator shape, filter and envelope per role (attack, decay to sustain level, release). */
const VOICES = {
  melody: { wave: 'triangle', cutoff: 5000, a: 0.005, d: 0.25, s: 0.55, r: 0.12, gain: 0.32 },
  piano: { wave: 'triangle', cutoff: 3200, a: 0.003, d: 0.6, s: 0.18, r: 0.25, gain: 0.22 },
  bass: { wave: 'sawtooth', cutoff: 700, a: 0.005, d: 0.2, s: 0.6, r: 0.08, gain: 0.3 },
  guitar: { wave: 'square', cutoff: 1800, a: 0.003, d: 0.35, s: 0.2, r: 0.1, gain: 0.12 },
  strings: { wave: 'sawtooth', cutoff: 2400, a: 0.12, d: 0.3, s: 0.7, r: 0.3, gain: 0.1 },
  pad: { wave: 'sine', cutoff: 2000, a: 0.2, d: 0.4, s: 0.7, r: 0.5, gain: 0.16 },
  other: { wave: 'triangle', cutoff: 3000, a: 0.01, d: 0.3, s: 0.5, r: 0.15, gain: 0.2 },
};

export class Synth {
  constructor(ctx = audioContext()) {
    this.ctx = ctx;
    this.master = ctx.createGain();
    this.master.gain.value = 0.8;
    const limiter = ctx.createDynamicsCompressor();
    limiter.threshold.value = -10;
    limiter.ratio.value = 12;
    this.master.connect(limiter).connect(ctx.destination);
    this.noise = this.#noiseBuffer();
    /** Sounding live notes (keyboard / MIDI input) so note-off can release them. */
    this.live = new Map();
    /** Every scheduled source, so stop() can silence a playback at once. */
    this.scheduled = new Set();
  }

  #noiseBuffer() {
    const len = this.ctx.sampleRate;
    const buf = this.ctx.createBuffer(1, len, this.ctx.sampleRate);
    const data = buf.getChannelData(0);
    let seed = 12345;
    for (let i = 0; i < len; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      data[i] = (seed / 0x3fffffff) - 1;
    }
    return buf;
  }

  #track(node, stopAt) {
    this.scheduled.add(node);
    node.onended = () => this.scheduled.delete(node);
    node.stop(stopAt);
  }

  /** Schedules one pitched note: `when` and `duration` in seconds of the context clock. */
  note(pitch, velocity, when, duration, role = 'melody') {
    const v = VOICES[role] || VOICES.other;
    const ctx = this.ctx;
    const peak = v.gain * (velocity / 127);
    const osc = ctx.createOscillator();
    osc.type = v.wave;
    osc.frequency.value = midiToHz(pitch);
    if (role === 'strings') osc.detune.value = 6;
    const filter = ctx.createBiquadFilter();
    filter.type = 'lowpass';
    filter.frequency.value = v.cutoff;
    const env = ctx.createGain();
    const t0 = Math.max(when, ctx.currentTime);
    const end = t0 + Math.max(0.03, duration);
    env.gain.setValueAtTime(0, t0);
    env.gain.linearRampToValueAtTime(peak, t0 + v.a);
    env.gain.setTargetAtTime(peak * v.s, t0 + v.a, v.d / 3);
    env.gain.setTargetAtTime(0, end, v.r / 3);
    osc.connect(filter).connect(env).connect(this.master);
    osc.start(t0);
    this.#track(osc, end + v.r * 2);
  }

  /** Starts a note that sounds until noteOff (keyboard and MIDI input). */
  noteOn(pitch, velocity = 100, role = 'melody') {
    this.noteOff(pitch);
    const v = VOICES[role] || VOICES.other;
    const ctx = this.ctx;
    const osc = ctx.createOscillator();
    osc.type = v.wave;
    osc.frequency.value = midiToHz(pitch);
    const filter = ctx.createBiquadFilter();
    filter.type = 'lowpass';
    filter.frequency.value = v.cutoff;
    const env = ctx.createGain();
    const t0 = ctx.currentTime;
    const peak = v.gain * (velocity / 127);
    env.gain.setValueAtTime(0, t0);
    env.gain.linearRampToValueAtTime(peak, t0 + v.a);
    env.gain.setTargetAtTime(peak * v.s, t0 + v.a, v.d / 3);
    osc.connect(filter).connect(env).connect(this.master);
    osc.start(t0);
    this.live.set(pitch, { osc, env, release: v.r });
  }

  noteOff(pitch) {
    const voice = this.live.get(pitch);
    if (!voice) return;
    this.live.delete(pitch);
    const t = this.ctx.currentTime;
    voice.env.gain.cancelScheduledValues(t);
    voice.env.gain.setTargetAtTime(0, t, voice.release / 3);
    voice.osc.stop(t + voice.release * 2);
  }

  /** General MIDI percussion, approximated: kicks, snares, hats, toms, cymbals. */
  drum(pitch, velocity, when) {
    const ctx = this.ctx;
    const t0 = Math.max(when, ctx.currentTime);
    const amp = 0.5 * (velocity / 127);
    const out = ctx.createGain();
    out.connect(this.master);
    if (pitch === 35 || pitch === 36) {
      const osc = ctx.createOscillator();
      osc.frequency.setValueAtTime(140, t0);
      osc.frequency.exponentialRampToValueAtTime(45, t0 + 0.12);
      out.gain.setValueAtTime(amp * 1.6, t0);
      out.gain.exponentialRampToValueAtTime(0.001, t0 + 0.3);
      osc.connect(out);
      osc.start(t0);
      this.#track(osc, t0 + 0.32);
      return;
    }
    const isHat = [42, 44, 46].includes(pitch);
    const isCymbal = [49, 51, 52, 53, 55, 57, 59].includes(pitch);
    const isSnare = [37, 38, 39, 40].includes(pitch);
    const src = ctx.createBufferSource();
    src.buffer = this.noise;
    const filter = ctx.createBiquadFilter();
    let decay = 0.15;
    if (isHat || isCymbal) {
      filter.type = 'highpass';
      filter.frequency.value = 7000;
      decay = pitch === 42 || pitch === 44 ? 0.05 : isCymbal ? 0.6 : 0.25;
    } else if (isSnare) {
      filter.type = 'bandpass';
      filter.frequency.value = 1800;
      decay = 0.16;
    } else {
      // Toms and the rest: a pitched thump.
      const osc = ctx.createOscillator();
      osc.frequency.setValueAtTime(midiToHz(pitch) / 2, t0);
      osc.frequency.exponentialRampToValueAtTime(midiToHz(pitch) / 3, t0 + 0.2);
      const g = ctx.createGain();
      g.gain.setValueAtTime(amp, t0);
      g.gain.exponentialRampToValueAtTime(0.001, t0 + 0.25);
      osc.connect(g).connect(this.master);
      osc.start(t0);
      this.#track(osc, t0 + 0.27);
      filter.type = 'lowpass';
      filter.frequency.value = 900;
      decay = 0.05;
    }
    out.gain.setValueAtTime(amp, t0);
    out.gain.exponentialRampToValueAtTime(0.001, t0 + decay);
    src.connect(filter).connect(out);
    src.start(t0);
    this.#track(src, t0 + decay + 0.02);
  }

  /** Metronome click; the first beat of a bar is higher. */
  click(accent, when) {
    const ctx = this.ctx;
    const osc = ctx.createOscillator();
    osc.frequency.value = accent ? 1760 : 1320;
    const g = ctx.createGain();
    g.gain.setValueAtTime(0.35, when);
    g.gain.exponentialRampToValueAtTime(0.001, when + 0.05);
    osc.connect(g).connect(this.master);
    osc.start(when);
    this.#track(osc, when + 0.06);
  }

  /** Silences everything scheduled (stop button). */
  stopAll() {
    for (const node of this.scheduled) {
      try {
        node.stop();
      } catch {
        // Already stopped.
      }
    }
    this.scheduled.clear();
    for (const pitch of [...this.live.keys()]) this.noteOff(pitch);
  }
}
