// Transport for a song: plays its tracks through the in-browser synth (honouring mute and solo)
// or plays the server's rendered WAV, and reports the position in beats so a piano roll can
// draw a moving cursor.

import { Synth, audioContext } from './synth.js';

const LOOKAHEAD_S = 0.15;
const TICK_MS = 30;

export class Player {
  constructor() {
    this.synth = null;
    this.song = { tracks: [], bpm: 120, totalBeats: 0 };
    /** Decides at schedule time whether a track sounds (mute / solo live in the page). */
    this.audible = () => true;
    this.playing = false;
    this.mode = 'synth';
    this.listeners = new Set();
    this.audio = null;
  }

  /** `cb(beat, playing)` is called every animation frame while playing, and on stop. */
  onPosition(cb) {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  load(song) {
    this.stop();
    this.song = song;
  }

  #emit(beat) {
    for (const cb of this.listeners) cb(beat, this.playing);
  }

  get position() {
    if (!this.playing) return 0;
    const secPerBeat = 60 / this.song.bpm;
    if (this.mode === 'audio') return this.audio.currentTime / secPerBeat;
    return (this.synth.ctx.currentTime - this.startTime) / secPerBeat + this.startBeat;
  }

  /** Plays with the synth from `fromBeat`. */
  play(fromBeat = 0) {
    this.stop();
    this.synth = this.synth || new Synth(audioContext());
    this.mode = 'synth';
    this.playing = true;
    const ctx = this.synth.ctx;
    this.startTime = ctx.currentTime + 0.08;
    this.startBeat = fromBeat;
    // Events sorted once; a cursor walks them as the clock advances.
    this.events = [];
    for (const track of this.song.tracks) {
      for (const n of track.notes) {
        if (n.start + n.duration <= fromBeat) continue;
        this.events.push({ track, note: n });
      }
    }
    this.events.sort((a, b) => a.note.start - b.note.start);
    this.next = 0;
    this.timer = setInterval(() => this.#schedule(), TICK_MS);
    this.#schedule();
    this.#animate();
  }

  #schedule() {
    const ctx = this.synth.ctx;
    const secPerBeat = 60 / this.song.bpm;
    const horizon = ctx.currentTime + LOOKAHEAD_S;
    while (this.next < this.events.length) {
      const { track, note } = this.events[this.next];
      const start = Math.max(note.start, this.startBeat);
      const when = this.startTime + (start - this.startBeat) * secPerBeat;
      if (when > horizon) break;
      this.next++;
      if (!this.audible(track)) continue;
      if (track.role === 'drums') this.synth.drum(note.pitch, note.velocity, when);
      else
        this.synth.note(
          note.pitch,
          note.velocity,
          when,
          (note.start + note.duration - start) * secPerBeat,
          track.role,
        );
    }
  }

  /** Plays a rendered WAV (or any audio URL); the cursor follows the audio clock. */
  async playAudio(url) {
    this.stop();
    this.mode = 'audio';
    this.audio = new Audio(url);
    this.audio.addEventListener('ended', () => this.stop());
    this.playing = true;
    try {
      await this.audio.play();
    } catch (err) {
      this.stop();
      throw err;
    }
    this.#animate();
  }

  #animate() {
    const frame = () => {
      if (!this.playing) return;
      const beat = this.position;
      if (this.mode === 'synth' && beat > this.song.totalBeats + 0.5) {
        this.stop();
        return;
      }
      this.#emit(beat);
      this.raf = requestAnimationFrame(frame);
    };
    this.raf = requestAnimationFrame(frame);
  }

  stop() {
    const was = this.playing;
    this.playing = false;
    clearInterval(this.timer);
    cancelAnimationFrame(this.raf);
    if (this.synth) this.synth.stopAll();
    if (this.audio) {
      this.audio.pause();
      this.audio = null;
    }
    if (was) this.#emit(0);
  }
}
