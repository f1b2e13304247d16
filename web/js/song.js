// The browser's view of a song: notes measured in beats (quarter notes), a tempo and a meter.
// Every part of the console (piano roll, player, recorder) speaks this one shape, and api.js
// converts it to and from the server's JSON at the edge.

/** Roles the console knows how to colour and voice; unknown roles fall back to "other". */
export const ROLE_COLOURS = {
  melody: '#f2c14e',
  drums: '#e4572e',
  bass: '#4f9dde',
  piano: '#76b041',
  guitar: '#c77dff',
  strings: '#ff8fab',
  pad: '#2ec4b6',
  other: '#a0a4ab',
};

export function roleColour(role) {
  return ROLE_COLOURS[String(role || '').toLowerCase()] || ROLE_COLOURS.other;
}

const NOTE_NAMES = ['C', 'C♯', 'D', 'D♯', 'E', 'F', 'F♯', 'G', 'G♯', 'A', 'A♯', 'B'];

/** "C4" style name of a MIDI pitch (middle C = 60 = C4). */
export function pitchName(pitch) {
  return `${NOTE_NAMES[((pitch % 12) + 12) % 12]}${Math.floor(pitch / 12) - 1}`;
}

export function isBlackKey(pitch) {
  return [1, 3, 6, 8, 10].includes(((pitch % 12) + 12) % 12);
}

/**
 * A note: start and duration in beats, pitch 0–127, velocity 1–127.
 * @typedef {{pitch:number,start:number,duration:number,velocity:number}} Note
 */

/** Length of a bar in beats for a meter like [6, 8]: six eighths are three beats. */
export function beatsPerBar(meter) {
  const [num, den] = meter;
  return (num * 4) / den;
}

/**
 * Snaps onsets to the nearest grid step and durations to whole steps (at least one), so a
 * melody played by hand lines up with the model's 16th-note grid.
 */
export function quantize(notes, stepBeats) {
  return notes.map((n) => {
    const start = Math.max(0, Math.round(n.start / stepBeats) * stepBeats);
    const end = Math.round((n.start + n.duration) / stepBeats) * stepBeats;
    const duration = Math.max(stepBeats, end - start);
    return { ...n, start: round6(start), duration: round6(duration) };
  });
}

function round6(x) {
  return Math.round(x * 1e6) / 1e6;
}

/** Beats spanned by the notes, rounded up to whole bars (at least one bar). */
export function lengthInBars(notes, meter) {
  const bar = beatsPerBar(meter);
  const end = notes.reduce((m, n) => Math.max(m, n.start + n.duration), 0);
  return Math.max(1, Math.ceil(end / bar - 1e-9));
}

export function sortNotes(notes) {
  return [...notes].sort((a, b) => a.start - b.start || a.pitch - b.pitch);
}

export function clamp(x, lo, hi) {
  return Math.min(hi, Math.max(lo, x));
}
