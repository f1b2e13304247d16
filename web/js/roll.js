// Piano roll on a canvas: one lane per track (each with its own pitch range, coloured by role),
// bar and beat lines, a moving playback cursor, and — for a single editable melody — note
// editing with the mouse, touch or the keyboard (select, move, lengthen, delete, add).

import { roleColour, pitchName, isBlackKey, clamp, sortNotes } from './song.js';

const RULER = 20;
const GUTTER = 64;
const EDGE_PX = 7;

export class PianoRoll {
  /**
   * @param {HTMLElement} host  element the roll is built into (it gets a scrollable canvas)
   * @param {{editable?:boolean, stepBeats?:number, label?:string, onChange?:Function}} opts
   */
  constructor(host, opts = {}) {
    this.host = host;
    this.editable = !!opts.editable;
    this.stepBeats = opts.stepBeats || 0.25;
    this.onChange = opts.onChange || (() => {});
    this.label = opts.label || 'Piano roll';
    this.scroller = document.createElement('div');
    this.scroller.className = 'roll-scroller';
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'roll-canvas';
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.scroller.append(this.canvas);
    host.append(this.scroller);
    this.base = document.createElement('canvas');
    this.song = { tracks: [], beatsPerBar: 4, totalBeats: 16 };
    this.cursor = null;
    this.selected = -1;
    this.drag = null;
    if (this.editable) this.#bindEditing();
    this.resizeObserver = new ResizeObserver(() => this.render());
    this.resizeObserver.observe(host);
  }

  /** tracks: [{name, role, notes, muted}] (muted tracks are drawn faded). */
  setSong(song) {
    this.song = { beatsPerBar: 4, ...song };
    if (this.selected >= this.#notes().length) this.selected = -1;
    this.render();
  }

  #notes() {
    return this.song.tracks[0]?.notes || [];
  }

  get noteCount() {
    return this.song.tracks.reduce((s, t) => s + t.notes.length, 0);
  }

  #totalBeats() {
    const end = this.song.tracks.reduce(
      (m, t) => t.notes.reduce((mm, n) => Math.max(mm, n.start + n.duration), m),
      0,
    );
    const bar = this.song.beatsPerBar;
    return Math.max(this.song.totalBeats || 0, Math.ceil(end / bar) * bar, bar * 2);
  }

  /** Pitch rows and pixel height of each lane. */
  #layout() {
    const lanes = [];
    let y = RULER;
    const single = this.song.tracks.length <= 1;
    for (const track of this.song.tracks.length ? this.song.tracks : [{ notes: [], role: 'melody' }]) {
      let lo = 127;
      let hi = 0;
      for (const n of track.notes) {
        lo = Math.min(lo, n.pitch);
        hi = Math.max(hi, n.pitch);
      }
      if (this.editable) {
        lo = Math.min(lo, 57) - 3;
        hi = Math.max(hi, 81) + 3;
      } else if (lo > hi) {
        lo = 58;
        hi = 62;
      } else {
        lo -= 1;
        hi += 1;
      }
      const rows = hi - lo + 1;
      const rowH = single ? clamp(Math.floor(300 / rows), 8, 14) : clamp(Math.floor(110 / rows), 2, 8);
      const height = Math.max(single ? 120 : 56, rows * rowH);
      lanes.push({ track, lo, hi, rowH: height / rows, y, height });
      y += height + (single ? 0 : 4);
    }
    return { lanes, height: y };
  }

  #geometry() {
    const totalBeats = this.#totalBeats();
    const avail = Math.max(200, this.host.clientWidth - 2);
    const pxPerBeat = Math.max(14, (avail - GUTTER) / totalBeats);
    return { totalBeats, pxPerBeat, width: Math.ceil(GUTTER + totalBeats * pxPerBeat) };
  }

  render() {
    const { totalBeats, pxPerBeat, width } = this.#geometry();
    const { lanes, height } = this.#layout();
    this.geo = { totalBeats, pxPerBeat, lanes };
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.canvas, this.base]) {
      c.width = Math.round(width * dpr);
      c.height = Math.round(height * dpr);
    }
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const g = this.base.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.#drawBase(g, width, height);
    this.canvas.dataset.noteCount = String(this.noteCount);
    this.#describeSelection();
    this.canvas.dataset.trackCount = String(this.song.tracks.length);
    const names = this.song.tracks.map((t) => t.name || t.role).join(', ');
    this.canvas.setAttribute(
      'aria-label',
      `${this.label}: ${this.noteCount} notes${names ? ` in ${names}` : ''}` +
        (this.editable ? '. Arrow keys move the selected note, Shift+arrows change its length, Delete removes it, comma and period select the previous or next note, Enter adds a note.' : ''),
    );
    this.#blit();
  }

  #drawBase(g, width, height) {
    const { pxPerBeat, totalBeats, lanes } = this.geo;
    const css = getComputedStyle(document.documentElement);
    const bg = css.getPropertyValue('--roll-bg').trim() || '#16181d';
    const grid = css.getPropertyValue('--roll-grid').trim() || '#2a2e36';
    const text = css.getPropertyValue('--muted-text').trim() || '#9aa0aa';
    g.fillStyle = bg;
    g.fillRect(0, 0, width, height);
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'middle';
    for (const lane of lanes) {
      const faded = lane.track.muted;
      // Black-key rows shaded so pitches can be read.
      if (lane.rowH >= 5) {
        for (let p = lane.lo; p <= lane.hi; p++) {
          if (!isBlackKey(p)) continue;
          g.fillStyle = 'rgba(0,0,0,0.25)';
          g.fillRect(GUTTER, this.#pitchY(lane, p), width - GUTTER, lane.rowH);
        }
      }
      g.fillStyle = 'rgba(255,255,255,0.03)';
      g.fillRect(0, lane.y, GUTTER, lane.height);
      g.fillStyle = text;
      if (this.editable) {
        for (let p = lane.lo; p <= lane.hi; p++) {
          if (p % 12 === 0) g.fillText(pitchName(p), 6, this.#pitchY(lane, p) + lane.rowH / 2);
        }
      } else {
        g.save();
        g.fillStyle = roleColour(lane.track.role);
        g.fillRect(0, lane.y, 4, lane.height);
        g.fillStyle = faded ? text : '#e8eaed';
        g.font = '600 11px system-ui, sans-serif';
        g.fillText(truncate(lane.track.name || lane.track.role || '', 9), 8, lane.y + 12);
        g.restore();
      }
    }
    // Beat and bar lines across all lanes.
    const bar = this.song.beatsPerBar;
    for (let b = 0; b <= totalBeats + 1e-9; b += this.stepBeats >= 1 ? 1 : 1) {
      const x = GUTTER + b * pxPerBeat;
      const isBar = Math.abs(b / bar - Math.round(b / bar)) < 1e-6;
      g.fillStyle = isBar ? '#4a505c' : grid;
      g.fillRect(Math.round(x), RULER, 1, height - RULER);
      if (isBar && b < totalBeats) {
        g.fillStyle = text;
        g.fillText(String(Math.round(b / bar) + 1), x + 4, RULER / 2);
      }
    }
    // Notes.
    lanes.forEach((lane, laneIndex) => {
      const colour = roleColour(lane.track.role);
      lane.track.notes.forEach((n, i) => {
        const x = GUTTER + n.start * pxPerBeat;
        const w = Math.max(2, n.duration * pxPerBeat - 1);
        const y = this.#pitchY(lane, n.pitch);
        g.globalAlpha = lane.track.muted ? 0.25 : 0.55 + 0.45 * (n.velocity / 127);
        g.fillStyle = colour;
        const h = Math.max(1.5, lane.rowH - 1);
        g.fillRect(x, y, w, h);
        // A dark edge keeps repeated notes of the same pitch visibly apart.
        if (w > 4 && h > 3) {
          g.globalAlpha = 0.6;
          g.strokeStyle = '#0b0c0f';
          g.lineWidth = 1;
          g.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
        }
        if (this.editable && laneIndex === 0 && i === this.selected) {
          g.globalAlpha = 1;
          g.strokeStyle = '#ffffff';
          g.lineWidth = 2;
          g.strokeRect(x - 1, y - 1, w + 2, lane.rowH + 1);
        }
      });
      g.globalAlpha = 1;
    });
  }

  /** The selected note and its box in CSS pixels, readable by assistive tech and by tests. */
  #describeSelection() {
    const n = this.editable ? this.#notes()[this.selected] : null;
    if (!n) {
      delete this.canvas.dataset.selected;
      delete this.canvas.dataset.selectedRect;
      return;
    }
    const lane = this.geo.lanes[0];
    const x = GUTTER + n.start * this.geo.pxPerBeat;
    const w = n.duration * this.geo.pxPerBeat;
    this.canvas.dataset.selected = JSON.stringify({ pitch: n.pitch, start: n.start, duration: n.duration });
    this.canvas.dataset.selectedRect = [x, this.#pitchY(lane, n.pitch), w, lane.rowH].map((v) => v.toFixed(1)).join(',');
    this.canvas.setAttribute('aria-description', `Selected ${pitchName(n.pitch)} at beat ${n.start + 1}, ${n.duration} beats long`);
  }

  #pitchY(lane, pitch) {
    return lane.y + (lane.hi - pitch) * lane.rowH;
  }

  #blit() {
    const g = this.canvas.getContext('2d');
    const dpr = window.devicePixelRatio || 1;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.drawImage(this.base, 0, 0);
    if (this.cursor != null && this.geo) {
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      const x = GUTTER + this.cursor * this.geo.pxPerBeat;
      g.fillStyle = '#ffffff';
      g.fillRect(x, 0, 2, this.canvas.height / dpr);
    }
  }

  /** Moves the playback cursor (beats), or hides it with null; keeps it scrolled into view. */
  setCursor(beat) {
    this.cursor = beat;
    this.canvas.dataset.cursor = beat == null ? '' : beat.toFixed(2);
    this.#blit();
    if (beat != null && this.geo) {
      const x = GUTTER + beat * this.geo.pxPerBeat;
      const s = this.scroller;
      if (x < s.scrollLeft || x > s.scrollLeft + s.clientWidth - 40) s.scrollLeft = x - 60;
    }
  }

  // ---- editing (single melody lane) ----

  #hit(ev) {
    const rect = this.canvas.getBoundingClientRect();
    const x = ev.clientX - rect.left;
    const y = ev.clientY - rect.top;
    const lane = this.geo.lanes[0];
    const beat = (x - GUTTER) / this.geo.pxPerBeat;
    const pitch = lane.hi - Math.floor((y - lane.y) / lane.rowH);
    const notes = this.#notes();
    for (let i = notes.length - 1; i >= 0; i--) {
      const n = notes[i];
      if (n.pitch !== pitch || beat < n.start || beat > n.start + n.duration) continue;
      const rightPx = GUTTER + (n.start + n.duration) * this.geo.pxPerBeat;
      return { index: i, beat, pitch, edge: rightPx - x <= EDGE_PX };
    }
    return { index: -1, beat, pitch, x };
  }

  #commit() {
    const notes = this.#notes();
    const current = notes[this.selected];
    const sorted = sortNotes(notes);
    this.song.tracks[0].notes = sorted;
    this.selected = current ? sorted.indexOf(current) : -1;
    this.render();
    this.onChange(sorted);
  }

  #snap(beat) {
    return Math.max(0, Math.round(beat / this.stepBeats) * this.stepBeats);
  }

  #bindEditing() {
    const c = this.canvas;
    c.addEventListener('pointerdown', (ev) => {
      if (!this.geo || ev.offsetX < GUTTER) return;
      c.focus();
      const hit = this.#hit(ev);
      this.selected = hit.index;
      if (hit.index >= 0) {
        const n = this.#notes()[hit.index];
        this.drag = {
          mode: hit.edge ? 'length' : 'move',
          startBeat: hit.beat,
          startPitch: hit.pitch,
          orig: { ...n },
          moved: false,
        };
        c.setPointerCapture(ev.pointerId);
      }
      this.render();
    });
    c.addEventListener('pointermove', (ev) => {
      if (!this.drag) {
        if (this.geo && ev.offsetX >= GUTTER) {
          const hit = this.#hit(ev);
          c.style.cursor = hit.index >= 0 ? (hit.edge ? 'ew-resize' : 'grab') : 'crosshair';
        }
        return;
      }
      const hit = this.#hit(ev);
      const n = this.#notes()[this.selected];
      const d = this.drag;
      if (d.mode === 'move') {
        n.start = this.#snap(d.orig.start + (hit.beat - d.startBeat));
        n.pitch = clamp(d.orig.pitch + (hit.pitch - d.startPitch), 0, 127);
      } else {
        const end = this.#snap(d.orig.start + d.orig.duration + (hit.beat - d.startBeat));
        n.duration = Math.max(this.stepBeats, end - n.start);
      }
      d.moved = true;
      this.render();
    });
    const end = () => {
      if (this.drag?.moved) this.#commit();
      this.drag = null;
    };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
    c.addEventListener('dblclick', (ev) => {
      const hit = this.#hit(ev);
      if (hit.index >= 0 || ev.offsetX < GUTTER) return;
      this.#add(this.#snap(hit.beat - this.stepBeats / 2), hit.pitch);
    });
    c.addEventListener('keydown', (ev) => this.#key(ev));
  }

  #add(start, pitch) {
    const note = { pitch: clamp(pitch, 0, 127), start, duration: 1, velocity: 96 };
    this.#notes().push(note);
    this.selected = this.#notes().length - 1;
    this.#commit();
  }

  #key(ev) {
    const notes = this.#notes();
    const step = this.stepBeats;
    const n = notes[this.selected];
    let handled = true;
    if (ev.key === '.' || ev.key === ',') {
      if (notes.length) {
        const dir = ev.key === '.' ? 1 : -1;
        this.selected = this.selected < 0 ? 0 : (this.selected + dir + notes.length) % notes.length;
        this.render();
      }
    } else if (ev.key === 'Enter') {
      const after = n ? n.start + n.duration : 0;
      this.#add(after, n ? n.pitch : 60);
    } else if (!n) {
      if (ev.key.startsWith('Arrow') && notes.length) {
        this.selected = 0;
        this.render();
      } else handled = false;
    } else if (ev.key === 'Delete' || ev.key === 'Backspace') {
      notes.splice(this.selected, 1);
      this.selected = Math.min(this.selected, notes.length - 1);
      this.#commit();
    } else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
      const dir = ev.key === 'ArrowRight' ? 1 : -1;
      if (ev.shiftKey) n.duration = Math.max(step, n.duration + dir * step);
      else n.start = Math.max(0, n.start + dir * step);
      this.#commit();
    } else if (ev.key === 'ArrowUp' || ev.key === 'ArrowDown') {
      n.pitch = clamp(n.pitch + (ev.key === 'ArrowUp' ? 1 : -1), 0, 127);
      this.#commit();
    } else if (ev.key === 'Escape') {
      this.selected = -1;
      this.render();
    } else handled = false;
    if (handled) ev.preventDefault();
  }
}

function truncate(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
