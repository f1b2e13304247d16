// A small Standard MIDI File reader for the browser: enough to preview an upload, play a
// training checkpoint's sample, and list the tracks of a training archive with proposed roles.
// The server's `music` crate stays the authority; this only reads what the page shows.

const NAME_ROLES = [
  [/melod|lead|vocal|voice|sing|tune/i, 'melody'],
  [/drum|perc|kit/i, 'drums'],
  [/bass/i, 'bass'],
  [/piano|keys|keyboard|organ|rhodes/i, 'piano'],
  [/guit|gtr/i, 'guitar'],
  [/string|violin|viola|cello|ensemble/i, 'strings'],
  [/pad|synth pad/i, 'pad'],
  [/brass|trumpet|trombone|horn|tuba/i, 'brass'],
  [/sax|clarinet|oboe|flute|reed/i, 'reed'],
];

/** The role a track most likely plays: its name first, then its GM program (0-based). */
export function guessRole(name, program, isDrum) {
  if (isDrum) return 'drums';
  for (const [pattern, role] of NAME_ROLES) if (pattern.test(name || '')) return role;
  return roleForProgram(program, isDrum);
}

/** GM program (0-based) → the role a track with that instrument most likely plays. */
export function roleForProgram(program, isDrum) {
  if (isDrum) return 'drums';
  if (program < 8) return 'piano';
  if (program < 24) return 'piano'; // chromatic percussion and organs comp like keys
  if (program < 32) return 'guitar';
  if (program < 40) return 'bass';
  if (program < 56) return 'strings';
  if (program < 64) return 'brass';
  if (program < 80) return 'reed';
  if (program < 88) return 'melody'; // synth leads
  if (program < 96) return 'pad';
  return 'other';
}

class Reader {
  constructor(bytes) {
    this.b = bytes;
    this.p = 0;
  }
  u8() {
    if (this.p >= this.b.length) throw new Error('the file ends too early');
    return this.b[this.p++];
  }
  u16() {
    return (this.u8() << 8) | this.u8();
  }
  u32() {
    return ((this.u8() << 24) >>> 0) + (this.u8() << 16) + (this.u8() << 8) + this.u8();
  }
  str(n) {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.u8());
    return s;
  }
  varlen() {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.u8();
      v = (v << 7) | (c & 0x7f);
      if (!(c & 0x80)) return v;
    }
    throw new Error('a length field is too long');
  }
}

/**
 * Parses a .mid file. Times come back in beats (quarter notes); the first tempo and meter
 * are reported (enough for a preview).
 */
export function parseMidi(buffer) {
  const r = new Reader(new Uint8Array(buffer));
  if (r.str(4) !== 'MThd') throw new Error('not a Standard MIDI File');
  const hlen = r.u32();
  r.u16(); // format
  const ntracks = r.u16();
  const division = r.u16();
  if (division & 0x8000) throw new Error('SMPTE timing is not supported');
  r.p += hlen - 6;
  const song = { ppq: division, tempoBpm: 120, meter: [4, 4], tracks: [] };
  let tempoSeen = false;
  let meterSeen = false;
  for (let t = 0; t < ntracks && r.p < r.b.length; t++) {
    const id = r.str(4);
    const len = r.u32();
    const end = r.p + len;
    if (id !== 'MTrk') {
      r.p = end;
      continue;
    }
    let tick = 0;
    let status = 0;
    const track = { name: '', channel: -1, program: 0, isDrum: false, notes: [] };
    const open = new Map();
    while (r.p < end) {
      tick += r.varlen();
      let s = r.b[r.p];
      if (s & 0x80) r.p++;
      else s = status;
      if (s === 0xff) {
        const type = r.u8();
        const n = r.varlen();
        const start = r.p;
        if (type === 0x03) track.name = new TextDecoder().decode(r.b.subarray(start, start + n));
        if (type === 0x51 && !tempoSeen && n === 3) {
          const us = (r.b[start] << 16) | (r.b[start + 1] << 8) | r.b[start + 2];
          song.tempoBpm = Math.round((60e6 / us) * 100) / 100;
          tempoSeen = true;
        }
        if (type === 0x58 && !meterSeen && n >= 2) {
          song.meter = [r.b[start], 2 ** r.b[start + 1]];
          meterSeen = true;
        }
        r.p = start + n;
        continue;
      }
      if (s === 0xf0 || s === 0xf7) {
        r.p += r.varlen();
        continue;
      }
      status = s;
      const kind = s & 0xf0;
      const ch = s & 0x0f;
      const d1 = r.u8();
      const d2 = kind === 0xc0 || kind === 0xd0 ? 0 : r.u8();
      if (kind === 0xc0) track.program = d1;
      if (kind === 0x90 || kind === 0x80) {
        if (track.channel < 0) track.channel = ch;
        const key = ch * 128 + d1;
        if (kind === 0x90 && d2 > 0) {
          if (!open.has(key)) open.set(key, []);
          open.get(key).push({ tick, velocity: d2 });
        } else {
          const started = open.get(key);
          const on = started?.shift();
          if (on)
            track.notes.push({
              pitch: d1,
              velocity: on.velocity,
              start: on.tick / division,
              duration: Math.max(1, tick - on.tick) / division,
            });
        }
      }
    }
    r.p = end;
    track.isDrum = track.channel === 9;
    track.notes.sort((a, b) => a.start - b.start || a.pitch - b.pitch);
    if (track.notes.length) {
      track.role = guessRole(track.name, track.program, track.isDrum);
      song.tracks.push(track);
    }
  }
  return song;
}
