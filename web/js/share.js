// The read-only shared page /s/{token}: fetches the shared composition, shows its piano roll,
// plays it (browser synth or the server's WAV) and offers the MIDI. Nothing here can edit.

import { get } from './api.js';
import { Player } from './player.js';
import { PianoRoll } from './roll.js';
import { roleColour } from './song.js';
import { clock, escapeHtml, when, toast } from './ui.js';

const $ = (id) => document.getElementById(id);

async function main() {
  const token = location.pathname.split('/').filter(Boolean).pop() || '';
  let shared;
  try {
    if (!/^[0-9a-f]{32}$/.test(token)) throw new Error("This share link is not complete. Check that you copied all of it.");
    shared = await get(`/api/shared/${token}`);
  } catch (err) {
    $('share-meta').textContent = '';
    $('share-error').hidden = false;
    $('share-error').textContent = err.code === 'not_found'
      ? 'This share link no longer works: its owner revoked it or deleted the piece.'
      : err.message;
    document.documentElement.dataset.ready = 'true';
    return;
  }
  const r = shared.roll;
  document.title = `${shared.title} · Orchestrion`;
  $('share-title').textContent = shared.title;
  $('share-meta').textContent = `${shared.bars} bars · ${Math.round(r.tempo_bpm)} BPM · ${r.meter.numerator}/${r.meter.denominator} · model ${shared.model} · seed ${shared.seed} · shared ${when(shared.created_at)}`;
  $('share-panel').hidden = false;
  $('share-midi').href = shared.links.midi;
  $('share-midi').download = `${shared.title.replace(/[^\w-]+/g, '_')}.mid`;
  $('share-legend').innerHTML = r.tracks
    .map((t) => `<span class="chip" style="--swatch:${roleColour(t.role)}">${escapeHtml(t.name || t.role)}</span>`)
    .join('');
  const roll = new PianoRoll($('share-roll'), { label: 'Piano roll' });
  roll.setSong({
    tracks: r.tracks.map((t) => ({ name: t.name || t.role, role: t.role, notes: t.notes })),
    beatsPerBar: r.beats_per_bar,
    totalBeats: r.total_beats,
  });
  const player = new Player();
  player.load({ tracks: r.tracks, bpm: r.tempo_bpm, totalBeats: r.total_beats });
  player.onPosition((beat, playing) => {
    roll.setCursor(playing ? beat : null);
    $('share-play').textContent = playing ? '■ Stop' : '▶ Play';
    $('share-play').setAttribute('aria-pressed', String(playing));
    $('share-time').textContent = clock((beat * 60) / r.tempo_bpm);
  });
  $('share-play').addEventListener('click', async () => {
    if (player.playing) return player.stop();
    if ($('share-sound').value === 'wav') {
      try {
        await player.playAudio(shared.links.wav);
        return;
      } catch {
        toast('The studio could not render audio; playing with the browser synth instead.', 'error');
        $('share-sound').value = 'synth';
      }
    }
    player.play(0);
  });
  document.documentElement.dataset.ready = 'true';
}

main();
