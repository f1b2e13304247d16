// The Train view: upload a zip of MIDI (inspected in the browser to propose roles), set the
// hyper-parameters, start a run, and follow it live: loss and metric charts against the data's
// reference values, a sample per checkpoint to listen to, and publishing the finished model.

import { $, toast, showError, escapeHtml, METRIC_NAMES } from './ui.js';
import { get, post, follow, describeError } from './api.js';
import { state } from './state.js';
import { LineChart } from './chart.js';
import { readMidiEntries } from './zip.js';
import { parseMidi } from './midifile.js';
import { roleColour } from './song.js';
import { loadModels } from './generate.js';

const ROLES = ['drums', 'bass', 'piano', 'guitar', 'strings', 'pad', 'brass', 'reed', 'other'];
const DEFAULT_ROLES = ['drums', 'bass', 'piano'];
const METRIC_COLOURS = ['#f2c14e', '#4f9dde', '#76b041', '#c77dff', '#ff8fab', '#2ec4b6'];

let runs = [];
let stopFollowing = null;
let charts = null;

function renderRoleBoxes(checked) {
  const host = $('train-roles');
  host.textContent = '';
  for (const role of ROLES) {
    const label = document.createElement('label');
    label.className = 'check';
    label.innerHTML = `<input type="checkbox" name="role" value="${role}" ${checked.includes(role) ? 'checked' : ''}>
      <span class="chip" style="--swatch:${roleColour(role)}">${role}</span>`;
    host.append(label);
  }
}

/** Lists the tracks found in the zip by role and ticks the roles most files have. */
async function inspect(file) {
  const box = $('train-inspect');
  box.textContent = `Looking inside ${file.name}…`;
  try {
    const entries = await readMidiEntries(file);
    if (!entries.length) {
      box.textContent = 'No .mid files were found in this zip.';
      return;
    }
    const byRole = new Map();
    let readable = 0;
    for (const e of entries) {
      let song;
      try {
        song = parseMidi(e.bytes.buffer.slice(e.bytes.byteOffset, e.bytes.byteOffset + e.bytes.byteLength));
      } catch {
        continue;
      }
      readable++;
      const seen = new Set();
      for (const t of song.tracks) {
        const role = t.role;
        if (!byRole.has(role)) byRole.set(role, { files: 0, names: new Set() });
        const r = byRole.get(role);
        if (!seen.has(role)) r.files++;
        seen.add(role);
        if (t.name && r.names.size < 3) r.names.add(t.name.trim());
      }
    }
    const rows = [...byRole.entries()].sort((a, b) => b[1].files - a[1].files);
    box.innerHTML = `<p>${readable} of ${entries.length} MIDI files read${entries.length >= 200 ? ' (first 200 inspected)' : ''}. Detected parts:</p>
      <table><thead><tr><th>Role</th><th>Files with it</th><th>Track names</th></tr></thead><tbody>${rows
        .map(
          ([role, r]) =>
            `<tr><td><span class="chip" style="--swatch:${roleColour(role)}">${escapeHtml(role)}</span></td><td>${r.files}</td><td>${escapeHtml(
              [...r.names].join(', '),
            )}</td></tr>`,
        )
        .join('')}</tbody></table>`;
    const proposed = rows.filter(([role, r]) => role !== 'melody' && ROLES.includes(role) && r.files >= readable / 4).map(([role]) => role);
    if (proposed.length) renderRoleBoxes(proposed);
    if (!$('train-name').value) $('train-name').value = file.name.replace(/\.zip$/i, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 40);
  } catch (err) {
    box.textContent = `Could not look inside the zip (${err.message}); the studio will still check it when you start.`;
  }
}

async function start(ev) {
  ev.preventDefault();
  showError($('train-error'), null);
  const file = $('train-zip').files[0];
  const roles = [...document.querySelectorAll('#train-roles input:checked')].map((b) => b.value);
  if (!file) return showError($('train-error'), new Error('Choose a zip of MIDI files first.'));
  if (!roles.length) return showError($('train-error'), new Error('Tick at least one role for the model to play.'));
  const config = {
    name: $('train-name').value.trim(),
    roles,
    steps: Number($('train-steps').value),
    learning_rate: Number($('train-lr').value),
    critic_updates: Number($('train-critic').value),
  };
  const form = new FormData();
  form.append('archive', file);
  form.append('config', JSON.stringify(config));
  $('train-submit').disabled = true;
  try {
    const { training_run: run } = await post('/api/training-runs', form);
    toast(`Training “${run.name}” started.`);
    await loadRuns(run.id);
  } catch (err) {
    showError($('train-error'), err);
  } finally {
    $('train-submit').disabled = false;
  }
}

async function loadRuns(select) {
  try {
    runs = (await get('/api/training-runs?limit=100')).items || [];
  } catch (err) {
    toast(err.message, 'error');
    return;
  }
  const sel = $('run-select');
  const keep = select || sel.value;
  sel.textContent = '';
  if (!runs.length) sel.append(new Option('No runs yet', ''));
  for (const r of runs) sel.append(new Option(`${r.name} — ${r.status}`, r.id));
  if (runs.some((r) => r.id === keep)) sel.value = keep;
  if (sel.value && (select || !charts || charts.runId !== sel.value)) showRun(sel.value);
}

function resetCharts(runId) {
  const host = $('charts');
  host.textContent = '';
  charts = {
    runId,
    loss: new LineChart(host, { title: 'Loss (generator and critic)' }),
    metrics: new Map(),
    host,
  };
}

function metricChart(name) {
  if (!charts.metrics.has(name)) {
    const title = `${METRIC_NAMES[name] || name}: model vs. training data`;
    charts.metrics.set(name, new LineChart(charts.host, { title }));
  }
  return charts.metrics.get(name);
}

function addMetrics(step, metrics, reference) {
  let i = 0;
  for (const [name, value] of Object.entries(metrics || {})) {
    if (typeof value !== 'number') continue;
    const chart = metricChart(name);
    const colour = METRIC_COLOURS[i++ % METRIC_COLOURS.length];
    chart.add('model', colour, step, value);
    if (reference && typeof reference[name] === 'number') chart.reference('training data', '#e8eaed', reference[name]);
  }
}

function runProgress(step, total, status) {
  $('run-progress').hidden = false;
  $('run-progress-fill').style.width = `${total ? Math.round((100 * step) / total) : 0}%`;
  $('run-stage').textContent = `Step ${step} of ${total}${status && status !== 'running' ? ` · ${status}` : ''}`;
  $('run-cancel').hidden = !['queued', 'running'].includes(status);
}

function showRun(id) {
  stopFollowing?.();
  resetCharts(id);
  showError($('run-error'), null);
  $('publish-box').hidden = true;
  const list = $('checkpoints');
  list.innerHTML = '<li class="muted">None yet.</li>';
  const run = runs.find((r) => r.id === id);
  if (run) {
    $('run-status').textContent = describeRun(run);
    runProgress(run.step || 0, run.total_steps || run.config?.steps || 0, run.status);
  }
  $('run-cancel').onclick = async () => {
    try {
      await post(`/api/training-runs/${id}/cancel`);
      toast('Stopping the run…');
    } catch (err) {
      toast(err.message, 'error');
    }
  };
  stopFollowing = follow(`/api/training-runs/${id}/events`, {
    progress: (p) => runProgress(p.step, p.total_steps, p.status),
    loss: (p) => {
      charts.loss.add('generator', '#f2c14e', p.step, p.generator_loss);
      charts.loss.add('critic', '#4f9dde', p.step, p.critic_loss);
    },
    metrics: (p) => addMetrics(p.step, p.metrics, p.reference),
    checkpoint: (p) => addCheckpoint(p.step, p.sample_midi),
    done: (final) => finishRun(final),
    error: () => toast('Lost the live connection to this run; choose it again to reload.', 'error'),
  });
}

function describeRun(r) {
  const c = r.config || {};
  return `${r.status} · ${(c.roles || []).join(', ')} · ${c.steps} steps · lr ${c.learning_rate} · ${c.critic_updates} critic updates${
    r.published_model ? ` · published as ${r.published_model}` : ''
  }`;
}

function addCheckpoint(step, url) {
  const list = $('checkpoints');
  list.querySelector('.muted')?.remove();
  const li = document.createElement('li');
  li.innerHTML = `<span>Step ${step}</span>`;
  const play = document.createElement('button');
  play.type = 'button';
  play.textContent = '▶ Listen';
  play.setAttribute('aria-label', `Listen to the sample at step ${step}`);
  play.addEventListener('click', () => playSample(url, play));
  const dl = document.createElement('a');
  dl.className = 'button ghost';
  dl.href = url;
  dl.download = `sample-step-${step}.mid`;
  dl.textContent = 'MIDI';
  dl.setAttribute('aria-label', `Download the sample at step ${step}`);
  li.append(play, dl);
  list.append(li);
}

async function playSample(url, button) {
  const p = state.player;
  if (p.playing && p.owner === url) {
    p.stop();
    return;
  }
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error('The sample could not be fetched.');
    const song = parseMidi(await res.arrayBuffer());
    const total = song.tracks.reduce((m, t) => t.notes.reduce((mm, n) => Math.max(mm, n.start + n.duration), m), 0);
    p.owner = url;
    p.audible = () => true;
    p.load({ tracks: song.tracks, bpm: song.tempoBpm, totalBeats: total });
    p.play(0);
    button.textContent = '■ Stop';
    const off = p.onPosition((beat, playing) => {
      if (!playing) {
        button.textContent = '▶ Listen';
        off();
      }
    });
  } catch (err) {
    toast(err.message, 'error');
  }
}

function finishRun(final) {
  const idx = runs.findIndex((r) => r.id === final.id);
  if (idx >= 0) runs[idx] = final;
  $('run-status').textContent = describeRun(final);
  runProgress(final.step ?? final.total_steps, final.total_steps, final.status);
  if (final.reference && final.latest?.metrics) addMetrics(final.step, final.latest.metrics, final.reference);
  const opt = [...$('run-select').options].find((o) => o.value === final.id);
  if (opt) opt.text = `${final.name} — ${final.status}`;
  if (final.status === 'succeeded' && !final.published_model) {
    $('publish-box').hidden = false;
    $('publish-name').value = final.name;
  }
  if (final.status === 'failed' || final.status === 'cancelled') {
    const e = final.error || { code: final.status };
    showError($('run-error'), new Error(describeError(e.code, e.message)));
  }
}

async function publish() {
  const id = $('run-select').value;
  const name = $('publish-name').value.trim();
  try {
    const model = await post(`/api/training-runs/${id}/publish`, { name });
    toast(`Published “${model.name}”. It is now in the genre list.`);
    $('publish-box').hidden = true;
    await loadModels();
    await loadRuns(id);
  } catch (err) {
    showError($('run-error'), err);
  }
}

export function initTrain() {
  renderRoleBoxes(DEFAULT_ROLES);
  $('train-zip').addEventListener('change', (ev) => ev.target.files[0] && inspect(ev.target.files[0]));
  $('train-form').addEventListener('submit', start);
  $('run-select').addEventListener('change', () => $('run-select').value && showRun($('run-select').value));
  $('publish').addEventListener('click', publish);
}

export function onShowTrain() {
  loadRuns();
}
