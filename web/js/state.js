// What the views share: the melody being worked on (saved to the server only when it is used)
// and the one player and synth of the page.

import { Player } from './player.js';

export const state = {
  /** {id|null, name, tempo, meter:[n,d], notes, source} — id is null until saved as it is now. */
  melody: { id: null, name: 'My melody', tempo: 100, meter: [4, 4], notes: [], source: 'keyboard' },
  player: new Player(),
  listeners: new Set(),
};

export function setMelody(patch, { keepId = false } = {}) {
  state.melody = { ...state.melody, ...patch, id: keepId ? (patch.id ?? state.melody.id) : patch.id ?? null };
  for (const cb of state.listeners) cb(state.melody);
}

export function onMelody(cb) {
  state.listeners.add(cb);
}
