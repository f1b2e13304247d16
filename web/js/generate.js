// The Generate view: model choice (with its card), bars / seed / candidates, job progress over
// SSE, and the result — multi-track roll with mute / solo / lock, playback with a cursor
// (browser synth or the server's WAV), takes to compare, downloads and the share link.

import { $, toast, showError, clock, markdown, metricsTable, escapeHtml } from './ui.js';
import { get, post, del, follow, describeError } from './api.js';
import { state, onMelody } from './state.js';
import { ensureMelodySaved } from './compose.js';
import { PianoRoll } from './roll.js';
import { roleColour, lengthInBars } from './song.js';

let models = [];
let roll = null;
let current = null; // {composition, roll}
const muted = new Set();
const soloed = new Set();
const locked = new Set();
let stopFollowing = null;
let barsTouched = false;

function randomSeed() {
  return Math.floor(Math.random() * 2 ** 31);
}

export async function loadModels() {
  try {
    const data = await get('/api/models');
    models = data.items || [];
  } catch (err) {
    models = [];
    toast(err.message, 'error');
  }
  const sel = $('gen-model');
  const previous = sel.value;
  sel.textContent = '';
  if (!models.length) sel.append(new Option('No genre models installed', ''));
  for (const m of models) sel.append(new Option(`${m.name}${m.source === 'trained' ? ' (trained)' : ''}`, m.name));
  if (models.some((m) => m.name === previous)) sel.value = previous;
  return models;
}

export async function showModelCard(name) {
  if (!name) return;
  const dialog = $('card-dialog');
  $('card-title').textContent = name;
  $('card-body').innerHTML = '<p class="muted">Loading…</p>';
  if (!dialog.open) dialog.showModal();
  try {
    const m = await get(`/api/models/${encodeURIComponent(name)}`);
    const chips = (m.roles || [])
      .map((r) => `<span class="chip" style="--swatch:${roleColour(r.role)}">${escapeHtml(r.role)}</span>`)
      .join('');
    const meters = (m.meters || []).map((x) => `${x.numerator}/${x.denominator}`).join(', ');
    $('card-body').innerHTML = `
      <p class="muted">${escapeHtml(m.source || '')} model · meters ${escapeHtml(meters || '–')} · ${m.steps_per_beat || 4} steps per beat · <code title="${escapeHtml(m.hash || '')}">${escapeHtml((m.hash || '').slice(0, 12))}</code></p>
      <div class="chips">${chips}</div>
      <h3>Metrics</h3>${metricsTable(m.metrics)}
      <h3>Model card</h3>${m.card ? markdown(m.card) : '<p class="muted">This model has no card.</p>'}`;
  } catch (err) {
    $('card-body').innerHTML = `<p class="error">${escapeHtml(err.message)}</p>`;
  }
}

function melodyLine() {
  const m = state.melody;
  const line = $('gen-melody-line');
  if (!m.notes.length) {
    line.innerHTML = 'No melody yet — <a href="#/compose">compose one first</a>.';
    $('gen-submit').disabled = true;
    return;
  }
  const bars = lengthInBars(m.notes, m.meter);
  line.innerHTML = `Melody: <strong>${escapeHtml(m.name)}</strong> — ${m.notes.length} notes, ${bars} bars, ${Math.round(
    m.tempo,
  )} BPM, ${m.meter[0]}/${m.meter[1]} · <a href="#/compose">edit</a>`;
  if (!barsTouched) $('gen-bars').value = String(bars);
  $('gen-submit').disabled = false;
}

function setProgress(fraction, stage) {
  $('gen-progress').hidden = false;
  $('gen-cancel').hidden = fraction >= 1;
  $('gen-progress-fill').style.width = `${Math.round(Math.max(0, Math.min(1, fraction)) * 100)}%`;
  $('gen-stage').textContent = stage;
}

async function submit(ev, lock) {
  ev?.preventDefault();
  showError($('gen-error'), null);
  const model = $('gen-model').value;
  if (!model) {
    showError($('gen-error'), new Error('Pick a genre model first.'));
    return;
  }
  const seedText = $('gen-seed').value.trim();
  const body = {
    model,
    bars: Number($('gen-bars').value),
    candidates: Number($('gen-candidates').value) || 1,
    seed: seedText === '' ? randomSeed() : Number(seedText),
  };
  $('gen-submit').disabled = true;
  $('regen').disabled = true;
  try {
    if (lock) {
      body.melody_id = current.composition.melody_id;
      body.lock = { composition_id: current.composition.id, roles: lock };
    } else body.melody_id = await ensureMelodySaved();
    setProgress(0, 'Sending to the studio…');
    const { composition, job } = await post('/api/compositions', body);
    watch(job, composition.id);
  } catch (err) {
    $('gen-progress').hidden = true;
    showError($('gen-error'), err);
    $('gen-submit').disabled = false;
    $('regen').disabled = locked.size === 0;
  }
}

/** Follows a compose job to its end, then shows the composition. */
function watch(job, compositionId) {
  stopFollowing?.();
  const finish = async (final) => {
    stopFollowing?.();
    stopFollowing = null;
    $('gen-submit').disabled = false;
    if (final.status === 'succeeded') {
      setProgress(1, 'Done.');
      $('gen-cancel').hidden = true;
      setTimeout(() => ($('gen-progress').hidden = true), 800);
      await openComposition(compositionId);
    } else {
      $('gen-progress').hidden = true;
      const e = final.error || { code: final.status };
      showError($('gen-error'), new Error(describeError(e.code, e.message)));
    }
  };
  setProgress(job.progress || 0, stageText(job));
  const close = follow(`/api/jobs/${job.id}/events`, {
    progress: (p) => setProgress(p.progress || 0, stageText(p)),
    done: finish,
    error: () => poll(job.id, finish),
  });
  stopFollowing = close;
  $('gen-cancel').onclick = async () => {
    try {
      await post(`/api/jobs/${job.id}/cancel`);
      $('gen-stage').textContent = 'Cancelling…';
    } catch (err) {
      toast(err.message, 'error');
    }
  };
}

/** Fallback when the event stream is unavailable: ask for the job every second. */
function poll(jobId, finish) {
  const timer = setInterval(async () => {
    try {
      const j = await get(`/api/jobs/${jobId}`);
      setProgress(j.progress || 0, stageText(j));
      if (['succeeded', 'failed', 'cancelled'].includes(j.status)) {
        clearInterval(timer);
        finish(j);
      }
    } catch (err) {
      clearInterval(timer);
      finish({ status: 'failed', error: { code: err.code, message: err.message } });
    }
  }, 1000);
  stopFollowing = () => clearInterval(timer);
}

function stageText(p) {
  const stage = p.stage || p.status || '';
  const pct = Math.round((p.progress || 0) * 100);
  const words = { queued: 'Waiting for a free worker…', running: 'Working…' };
  return `${words[stage] || capital(stage)} ${pct ? `${pct}%` : ''}`.trim();
}

function capital(s) {
  return s ? s[0].toUpperCase() + s.slice(1) + (s.endsWith('…') ? '' : '…') : '';
}

/** Loads a composition (from a job, a take or the history) into the result panel. */
export async function openComposition(id) {
  showError($('gen-error'), null);
  try {
    const composition = await get(`/api/compositions/${id}`);
    if (composition.status !== 'succeeded') {
      if (composition.status === 'queued' || composition.status === 'running') {
        const job = await get(`/api/jobs/${composition.job_id}`);
        watch(job, id);
      } else {
        const e = composition.error || { code: composition.status };
        showError($('gen-error'), new Error(describeError(e.code, e.message)));
      }
      return;
    }
    const rollData = await get(composition.links?.roll || `/api/compositions/${id}/roll`);
    state.player.stop();
    current = { composition, roll: rollData };
    muted.clear();
    soloed.clear();
    locked.clear();
    renderResult();
    await renderTakes();
  } catch (err) {
    showError($('gen-error'), err);
  }
}

function isAudible(track) {
  if (soloed.size) return soloed.has(track.role);
  return !muted.has(track.role);
}

function renderResult() {
  const { composition: c, roll: r } = current;
  $('result').hidden = false;
  $('result-title').textContent = `${c.melody_name || 'Melody'} — ${c.model}`;
  $('result-meta').textContent = `${c.bars} bars · seed ${c.seed}${
    c.critic_score != null ? ` · critic score ${Number(c.critic_score).toFixed(2)}` : ''
  }${c.candidates > 1 ? ` · best of ${c.candidates}` : ''}${c.locked_roles?.length ? ` · kept ${c.locked_roles.join(', ')}` : ''}`;
  const dl = (a, href, name) => {
    a.href = href;
    a.download = name;
  };
  const base = `${(c.melody_name || 'orchestrion').replace(/[^\w-]+/g, '_')}-${c.model}-${c.seed}`;
  dl($('dl-midi'), c.links?.midi || `/api/compositions/${c.id}/midi`, `${base}.mid`);
  dl($('dl-wav'), c.links?.wav || `/api/compositions/${c.id}/wav`, `${base}.wav`);
  const rows = $('track-rows');
  rows.textContent = '';
  for (const t of r.tracks) {
    const tr = document.createElement('tr');
    const label = t.name || t.role;
    const melodyRow = t.role === 'melody';
    tr.innerHTML = `<td class="name"><span class="swatch" style="--swatch:${roleColour(t.role)}"></span>${escapeHtml(label)}</td>
      <td>${t.notes.length}</td>
      <td><input type="checkbox" data-act="mute" aria-label="Mute ${escapeHtml(label)}"></td>
      <td><input type="checkbox" data-act="solo" aria-label="Solo ${escapeHtml(label)}"></td>
      <td><input type="checkbox" data-act="lock" aria-label="Lock ${escapeHtml(label)}" ${
        melodyRow ? 'checked disabled title="The melody is always kept"' : ''
      }></td>`;
    tr.querySelectorAll('input').forEach((box) =>
      box.addEventListener('change', () => {
        const set = { mute: muted, solo: soloed, lock: locked }[box.dataset.act];
        if (box.checked) set.add(t.role);
        else set.delete(t.role);
        if (box.dataset.act === 'lock') $('regen').disabled = locked.size === 0;
        else drawRoll();
      }),
    );
    rows.append(tr);
  }
  $('regen').disabled = true;
  drawRoll();
  renderShare(c.share);
  $('result-metrics').innerHTML = metricsTable(c.metrics?.summary);
}

function drawRoll() {
  const r = current.roll;
  roll.setSong({
    tracks: r.tracks.map((t) => ({ name: t.name || t.role, role: t.role, notes: t.notes, muted: !isAudible(t) })),
    beatsPerBar: r.beats_per_bar,
    totalBeats: r.total_beats,
  });
}

async function renderTakes() {
  const box = $('takes');
  box.textContent = '';
  const c = current.composition;
  let items = [];
  try {
    items = (await get('/api/compositions?limit=100')).items || [];
  } catch {
    return;
  }
  const takes = items.filter((x) => x.melody_id === c.melody_id && x.status === 'succeeded').reverse();
  if (takes.length < 2) return;
  const label = document.createElement('span');
  label.className = 'summary';
  label.textContent = 'Compare takes:';
  box.append(label);
  takes.forEach((t, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = `Take ${i + 1} · ${t.model} · seed ${t.seed}${t.critic_score != null ? ` · ${Number(t.critic_score).toFixed(2)}` : ''}`;
    if (t.id === c.id) b.setAttribute('aria-current', 'true');
    b.addEventListener('click', () => openComposition(t.id));
    box.append(b);
  });
}

function renderShare(share) {
  const has = !!share;
  $('share-create').hidden = has;
  for (const id of ['share-url', 'share-copy', 'share-open', 'share-revoke']) $(id).hidden = !has;
  if (has) {
    const url = new URL(share.url, location.origin).href;
    $('share-url').value = url;
    $('share-open').href = url;
  }
}

async function playResult() {
  const p = state.player;
  if (p.playing && p.owner === 'generate') {
    p.stop();
    return;
  }
  const r = current.roll;
  p.owner = 'generate';
  p.audible = isAudible;
  p.load({ tracks: r.tracks, bpm: r.tempo_bpm, totalBeats: r.total_beats });
  if ($('res-sound').value === 'wav') {
    $('res-time').textContent = 'Rendering…';
    try {
      await p.playAudio(current.composition.links?.wav || `/api/compositions/${current.composition.id}/wav`);
    } catch {
      toast('The studio could not render audio for this piece; playing with the browser synth instead.', 'error');
      $('res-sound').value = 'synth';
      p.play(0);
    }
  } else p.play(0);
}

export function initGenerate() {
  roll = new PianoRoll($('result-roll'), { label: 'Arrangement piano roll' });
  onMelody(melodyLine);
  melodyLine();
  $('gen-form').addEventListener('submit', (ev) => submit(ev));
  $('gen-bars').addEventListener('input', () => (barsTouched = true));
  $('gen-dice').addEventListener('click', () => ($('gen-seed').value = String(randomSeed())));
  $('gen-model-card').addEventListener('click', () => showModelCard($('gen-model').value));
  $('res-play').addEventListener('click', playResult);
  $('regen').addEventListener('click', () => submit(null, [...locked]));
  state.player.onPosition((beat, playing) => {
    if (state.player.owner !== 'generate') return;
    roll.setCursor(playing ? beat : null);
    $('res-play').setAttribute('aria-pressed', String(playing));
    $('res-play').textContent = playing ? '■ Stop' : '▶ Play';
    if (current && !(playing === false && $('res-time').textContent === 'Rendering…'))
      $('res-time').textContent = clock((beat * 60) / current.roll.tempo_bpm);
  });
  $('share-create').addEventListener('click', async () => {
    try {
      const share = await post(`/api/compositions/${current.composition.id}/share`);
      current.composition.share = share;
      renderShare(share);
      toast('Share link created. Anyone with the link can listen; nobody can edit.');
    } catch (err) {
      toast(err.message, 'error');
    }
  });
  $('share-copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('share-url').value);
      toast('Link copied.');
    } catch {
      $('share-url').select();
      toast('Press Ctrl+C to copy the selected link.');
    }
  });
  $('share-revoke').addEventListener('click', async () => {
    try {
      await del(`/api/compositions/${current.composition.id}/share`);
      current.composition.share = null;
      renderShare(null);
      toast('Share link revoked: it no longer works.');
    } catch (err) {
      toast(err.message, 'error');
    }
  });
  loadModels();
}

export function onShowGenerate() {
  melodyLine();
  loadModels();
}
