// The on-screen piano: two octaves played by mouse, touch or the computer keyboard (with the
// key map printed on the keys), an octave shift, and a visible "pressed" state for notes that
// arrive from anywhere (e.g. a MIDI keyboard).

import { pitchName, isBlackKey } from './song.js';

/** Computer keys in piano order: a row of white keys with the black keys above them. */
export const KEY_MAP = ['a', 'w', 's', 'e', 'd', 'f', 't', 'g', 'y', 'h', 'u', 'j', 'k', 'o', 'l', 'p', ';'];
const OCTAVE_DOWN = 'z';
const OCTAVE_UP = 'x';
/** Keys shown: two octaves and a C, or one octave and a C where the screen is narrow. */
const WIDE_SPAN = 25;
const NARROW_SPAN = 13;
const NARROW_PX = 560;

export class Piano {
  constructor(host, { onNoteOn, onNoteOff, onOctave }) {
    this.host = host;
    this.onNoteOn = onNoteOn;
    this.onNoteOff = onNoteOff;
    this.onOctave = onOctave || (() => {});
    this.base = 60;
    this.down = new Map(); // computer key → pitch it started (so octave shifts don't strand notes)
    this.pointers = new Map(); // pointerId → pitch
    this.el = document.createElement('div');
    this.el.className = 'piano';
    this.el.setAttribute('role', 'group');
    this.el.setAttribute('aria-label', 'On-screen piano');
    host.append(this.el);
    this.build();
    this.#bindPointer();
    new ResizeObserver(() => {
      const want = this.host.clientWidth < NARROW_PX ? NARROW_SPAN : WIDE_SPAN;
      if (want !== this.span) this.setOctave(this.base);
    }).observe(host);
  }

  build() {
    this.span = this.host.clientWidth && this.host.clientWidth < NARROW_PX ? NARROW_SPAN : WIDE_SPAN;
    const SPAN = this.span;
    this.el.textContent = '';
    this.keys = new Map();
    const whites = [];
    for (let i = 0; i < SPAN; i++) if (!isBlackKey(this.base + i)) whites.push(i);
    const whiteWidth = 100 / whites.length;
    let whiteIndex = 0;
    for (let i = 0; i < SPAN; i++) {
      const pitch = this.base + i;
      const black = isBlackKey(pitch);
      const key = document.createElement('button');
      key.type = 'button';
      key.tabIndex = -1;
      key.className = black ? 'key black' : 'key white';
      key.dataset.pitch = String(pitch);
      const shortcut = KEY_MAP[i];
      key.setAttribute('aria-label', `${pitchName(pitch)}${shortcut ? `, computer key ${shortcut.toUpperCase()}` : ''}`);
      if (black) key.style.left = `calc(${whiteIndex * whiteWidth}% - ${whiteWidth * 0.3}%)`;
      else {
        key.style.left = `${whiteIndex * whiteWidth}%`;
        whiteIndex++;
      }
      key.style.width = black ? `${whiteWidth * 0.6}%` : `${whiteWidth}%`;
      const label = document.createElement('span');
      label.className = 'key-label';
      label.innerHTML = `${shortcut ? `<kbd>${shortcut.toUpperCase()}</kbd>` : ''}${
        !black && pitch % 12 === 0 ? `<small>${pitchName(pitch)}</small>` : ''
      }`;
      key.append(label);
      this.el.append(key);
      this.keys.set(pitch, key);
    }
  }

  setOctave(base) {
    this.base = Math.max(24, Math.min(96, base));
    this.build();
    this.onOctave(this.base);
  }

  shiftOctave(dir) {
    this.setOctave(this.base + 12 * dir);
  }

  /** Shows a pitch as held (also for notes from a MIDI keyboard). */
  mark(pitch, on) {
    this.keys.get(pitch)?.classList.toggle('down', on);
  }

  #bindPointer() {
    const pitchAt = (ev) => {
      const el = document.elementFromPoint(ev.clientX, ev.clientY)?.closest('.key');
      return el && this.el.contains(el) ? Number(el.dataset.pitch) : null;
    };
    this.el.addEventListener('pointerdown', (ev) => {
      const pitch = pitchAt(ev);
      if (pitch == null) return;
      ev.preventDefault();
      this.el.setPointerCapture(ev.pointerId);
      this.pointers.set(ev.pointerId, pitch);
      this.onNoteOn(pitch, 100);
    });
    this.el.addEventListener('pointermove', (ev) => {
      if (!this.pointers.has(ev.pointerId)) return;
      const pitch = pitchAt(ev);
      const held = this.pointers.get(ev.pointerId);
      if (pitch == null || pitch === held) return;
      this.onNoteOff(held);
      this.pointers.set(ev.pointerId, pitch);
      this.onNoteOn(pitch, 100);
    });
    const release = (ev) => {
      const held = this.pointers.get(ev.pointerId);
      if (held == null) return;
      this.pointers.delete(ev.pointerId);
      this.onNoteOff(held);
    };
    this.el.addEventListener('pointerup', release);
    this.el.addEventListener('pointercancel', release);
  }

  /** Handles a keydown from the page; returns true when the key was a piano key. */
  keyDown(ev) {
    const k = ev.key.toLowerCase();
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return false;
    if (k === OCTAVE_DOWN || k === OCTAVE_UP) {
      if (!ev.repeat) this.shiftOctave(k === OCTAVE_UP ? 1 : -1);
      return true;
    }
    const i = KEY_MAP.indexOf(k);
    if (i < 0) return false;
    if (ev.repeat || this.down.has(k)) return true;
    const pitch = this.base + i;
    this.down.set(k, pitch);
    this.onNoteOn(pitch, 100);
    return true;
  }

  keyUp(ev) {
    const k = ev.key.toLowerCase();
    const pitch = this.down.get(k);
    if (pitch == null) return false;
    this.down.delete(k);
    this.onNoteOff(pitch);
    return true;
  }

  /** Releases everything (page hidden, focus lost). */
  releaseAll() {
    for (const pitch of this.down.values()) this.onNoteOff(pitch);
    for (const pitch of this.pointers.values()) this.onNoteOff(pitch);
    this.down.clear();
    this.pointers.clear();
  }
}
