// Unit tests of the console's browser-independent modules, run by node directly (no browser,
// no server): quantizing, the MIDI and zip readers, and the error messages.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { quantize, lengthInBars, beatsPerBar, pitchName } from '../../js/song.js';
import { parseMidi, guessRole } from '../../js/midifile.js';
import { readMidiEntries } from '../../js/zip.js';
import { describeError, toApiNotes, fromApiNotes } from '../../js/api.js';
import { bandMidi, zipArchive, Midi } from '../e2e/harness.js';

describe('song', () => {
  it('quantizes onsets to the grid and durations to whole steps', () => {
    const notes = [
      { pitch: 60, velocity: 90, start: 0.13, duration: 0.4 },
      { pitch: 62, velocity: 90, start: 0.9, duration: 0.02 },
    ];
    assert.deepEqual(quantize(notes, 0.25), [
      { pitch: 60, velocity: 90, start: 0.25, duration: 0.25 },
      { pitch: 62, velocity: 90, start: 1, duration: 0.25 },
    ]);
  });

  it('measures bars in the meter (6/8 bars are three beats)', () => {
    assert.equal(beatsPerBar([6, 8]), 3);
    assert.equal(lengthInBars([{ start: 0, duration: 7 }], [6, 8]), 3);
    assert.equal(lengthInBars([], [4, 4]), 1);
    assert.equal(pitchName(60), 'C4');
  });
});

describe('midifile', () => {
  it('reads tracks, roles, tempo, meter and notes in beats', () => {
    const bytes = bandMidi(0, 2);
    const song = parseMidi(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    assert.equal(song.tempoBpm, 110);
    assert.deepEqual(song.meter, [4, 4]);
    assert.deepEqual(song.tracks.map((t) => t.role), ['melody', 'drums', 'bass', 'piano']);
    const melody = song.tracks[0];
    assert.equal(melody.notes.length, 8);
    assert.ok(Math.abs(melody.notes[1].start - 1) < 1e-6, 'second note on beat 2');
    assert.equal(song.tracks[1].isDrum, true);
  });

  it('agrees with @tonejs/midi on every note', () => {
    const bytes = bandMidi(3, 4);
    const ours = parseMidi(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const theirs = new Midi(bytes);
    const ppq = theirs.header.ppq;
    const ref = theirs.tracks.filter((t) => t.notes.length);
    assert.equal(ours.tracks.length, ref.length);
    ours.tracks.forEach((t, i) => {
      const expected = ref[i].notes
        .map((n) => [n.midi, n.ticks / ppq, n.durationTicks / ppq])
        .sort((a, b) => a[1] - b[1] || a[0] - b[0]);
      assert.deepEqual(t.notes.map((n) => [n.pitch, n.start, n.duration]), expected);
    });
  });

  it('refuses what is not a MIDI file', () => {
    assert.throws(() => parseMidi(new TextEncoder().encode('hello world!').buffer), /not a Standard MIDI File/);
    assert.throws(() => parseMidi(new Uint8Array([0x4d, 0x54, 0x68, 0x64, 0, 0]).buffer), /ends too early/);
  });

  it('guesses roles from names before programs', () => {
    assert.equal(guessRole('Lead vocal', 73, false), 'melody');
    assert.equal(guessRole('', 33, false), 'bass');
    assert.equal(guessRole('anything', 0, true), 'drums');
  });
});

describe('zip', () => {
  for (const deflate of [false, true]) {
    it(`lists the MIDI files of a ${deflate ? 'deflated' : 'stored'} archive`, async () => {
      const a = bandMidi(0, 1);
      const archive = zipArchive(
        [
          { name: 'x/a.mid', data: a },
          { name: 'readme.txt', data: Buffer.from('hi') },
          { name: 'x/b.MIDI', data: bandMidi(1, 1) },
        ],
        { deflate },
      );
      const entries = await readMidiEntries(new Blob([archive]));
      assert.deepEqual(entries.map((e) => e.name), ['x/a.mid', 'x/b.MIDI']);
      assert.deepEqual(Buffer.from(entries[0].bytes), a);
    });
  }

  it('says when a file is not a zip', async () => {
    await assert.rejects(readMidiEntries(new Blob([Buffer.alloc(100)])), /not a zip/);
  });
});

describe('api', () => {
  it('turns error codes into sentences a musician can act on', () => {
    assert.match(describeError('invalid_midi', 'bad header chunk', 400), /isn't a MIDI file/);
    assert.match(describeError('validation', 'bars must be between 1 and 256', 422), /^Please check your settings: Bars must be between 1 and 256\.$/);
    assert.doesNotMatch(describeError('internal', 'panic at src/lib.rs:3', 500), /panic/);
    assert.match(describeError('too_many_jobs', '', 429), /at once/);
  });

  it('converts notes to and from the API form', () => {
    const notes = [{ pitch: 64, velocity: 100.4, start: 0.5, duration: 0.25 }];
    const api = toApiNotes(notes);
    assert.deepEqual(api, [{ pitch: 64, velocity: 100, start_beats: 0.5, duration_beats: 0.25 }]);
    assert.deepEqual(fromApiNotes(api), [{ pitch: 64, velocity: 100, start: 0.5, duration: 0.25 }]);
  });
});
