// Records what is played (keys, mouse, MIDI) against the audio clock, with a metronome and a
// count-in, and hands back notes in beats for quantizing.

import { beatsPerBar } from './song.js';

const MIN_NOTE_BEATS = 0.1;

export class Recorder {
  constructor(synth) {
    this.synth = synth;
    this.recording = false;
    this.notes = [];
    this.open = new Map();
  }

  /** Starts a take: `countInBars` bars of clicks, then recording from beat 0. */
  start({ bpm, meter, countInBars = 1, metronome = true }) {
    this.bpm = bpm;
    this.meter = meter;
    this.metronome = metronome;
    this.notes = [];
    this.open.clear();
    const ctx = this.synth.ctx;
    this.secPerBeat = 60 / bpm;
    // Clicks follow the meter's beat unit (an eighth in 6/8), bars start with an accent.
    this.clickBeats = 4 / meter[1];
    this.barBeats = beatsPerBar(meter);
    this.countInBeats = countInBars * this.barBeats;
    // With a count-in the first click needs a moment to be scheduled; without one, recording
    // starts at once so the first note played is never lost.
    const lead = this.countInBeats > 0 ? 0.1 + this.countInBeats * this.secPerBeat : 0;
    this.t0 = ctx.currentTime + lead;
    this.nextClick = -this.countInBeats;
    this.recording = true;
    this.timer = setInterval(() => this.#clicks(), 25);
    this.#clicks();
  }

  #clicks() {
    const ctx = this.synth.ctx;
    const horizon = ctx.currentTime + 0.12;
    for (;;) {
      const when = this.t0 + this.nextClick * this.secPerBeat;
      if (when > horizon) break;
      const inCountIn = this.nextClick < 0;
      if (inCountIn || this.metronome) {
        const accent = Math.abs(((this.nextClick % this.barBeats) + this.barBeats) % this.barBeats) < 1e-6;
        this.synth.click(accent, when);
      }
      this.nextClick += this.clickBeats;
    }
  }

  /** Current position in beats (negative during the count-in). */
  get position() {
    return (this.synth.ctx.currentTime - this.t0) / this.secPerBeat;
  }

  noteOn(pitch, velocity) {
    if (!this.recording) return;
    this.open.set(pitch, { pitch, velocity, start: Math.max(0, this.position) });
  }

  noteOff(pitch) {
    if (!this.recording) return;
    const n = this.open.get(pitch);
    if (!n) return;
    this.open.delete(pitch);
    const end = this.position;
    if (end <= 0) return; // pressed and released during the count-in
    // A tap on a touch screen can be nearly instantaneous; keep it as a short note.
    this.notes.push({ ...n, duration: Math.max(MIN_NOTE_BEATS, end - n.start) });
  }

  /** Ends the take; notes still held end now. */
  stop() {
    if (!this.recording) return [];
    for (const pitch of [...this.open.keys()]) this.noteOff(pitch);
    this.recording = false;
    clearInterval(this.timer);
    return this.notes.sort((a, b) => a.start - b.start);
  }
}
