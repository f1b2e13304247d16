// The Compose view: samples, .mid upload, the on-screen piano, Web MIDI input, metronome with
// count-in, recording with quantize, and the editable melody roll.

import { $, toast } from './ui.js';
import { get, post, fromApiNotes } from './api.js';
import { state, setMelody, onMelody } from './state.js';
import { Piano } from './piano.js';
import { MidiInput } from './midi-input.js';
import { Recorder } from './recorder.js';
import { PianoRoll } from './roll.js';
import { Synth, audioContext } from './synth.js';
import { quantize, beatsPerBar, lengthInBars, pitchName } from './song.js';

let synth = null;
let recorder = null;
let roll = null;
let piano = null;
const undo = [];
let samples = [];

function ensureSynth() {
  if (!synth) {
    synth = new Synth(audioContext());
    recorder = new Recorder(synth);
  }
  return synth;
}

function noteOn(pitch, velocity) {
  ensureSynth().noteOn(pitch, velocity);
  piano.mark(pitch, true);
  recorder.noteOn(pitch, velocity);
  $('record-status').dataset.lastNote = pitchName(pitch);
}

function noteOff(pitch) {
  ensureSynth().noteOff(pitch);
  piano.mark(pitch, false);
  recorder?.noteOff(pitch);
}

function meterValue() {
  return $('meter').value.split('/').map(Number);
}

function pushUndo() {
  undo.push(structuredClone(state.melody));
  if (undo.length > 50) undo.shift();
  $('melody-undo').disabled = false;
}

/** Replaces the notes (after an edit, a take or a load) keeping tempo and meter from the inputs. */
function changeNotes(notes, { source } = {}) {
  pushUndo();
  setMelody({
    notes,
    tempo: Number($('tempo').value) || 100,
    meter: meterValue(),
    edited: true,
    ...(source ? { source } : {}),
  });
}

function showMelody(m) {
  $('tempo').value = String(Math.round(m.tempo));
  const meter = `${m.meter[0]}/${m.meter[1]}`;
  if (![...$('meter').options].some((o) => o.value === meter)) $('meter').append(new Option(meter, meter));
  $('meter').value = meter;
  $('melody-name').value = m.name;
  const bars = lengthInBars(m.notes, m.meter);
  $('melody-summary').textContent = m.notes.length
    ? `${m.notes.length} notes · ${bars} bar${bars === 1 ? '' : 's'} · ${Math.round(m.tempo)} BPM · ${meter}`
    : 'Empty — play or record something, or load a sample.';
  roll.setSong({
    tracks: [{ name: 'Melody', role: 'melody', notes: m.notes.map((n) => ({ ...n })) }],
    beatsPerBar: beatsPerBar(m.meter),
    totalBeats: bars * beatsPerBar(m.meter),
  });
  $('to-generate').disabled = m.notes.length === 0;
}

async function loadSamples() {
  try {
    const data = await get('/api/samples');
    samples = data.items || [];
    const sel = $('sample-select');
    sel.textContent = '';
    for (const s of samples)
      sel.append(new Option(`${s.name} (${s.meter.numerator}/${s.meter.denominator}, ${s.bars} bars)`, s.id));
    if (!samples.length) sel.append(new Option('No samples on this server', ''));
  } catch (err) {
    $('sample-select').textContent = '';
    $('sample-select').append(new Option('Samples unavailable', ''));
    toast(err.message, 'error');
  }
}

function loadSample() {
  const s = samples.find((x) => x.id === $('sample-select').value);
  if (!s) return;
  pushUndo();
  setMelody({
    name: s.name,
    tempo: s.tempo_bpm,
    meter: [s.meter.numerator, s.meter.denominator],
    notes: fromApiNotes(s.notes),
    source: 'sample',
    sampleId: s.id,
    edited: false,
  });
  toast(`Loaded “${s.name}”.`);
}

async function upload(file) {
  const form = new FormData();
  form.append('file', file);
  form.append('name', file.name.replace(/\.midi?$/i, ''));
  $('record-status').textContent = `Reading ${file.name}…`;
  try {
    const m = await post('/api/melodies', form);
    pushUndo();
    setMelody({
      id: m.id,
      name: m.name,
      tempo: m.tempo_bpm,
      meter: [m.meter.numerator, m.meter.denominator],
      notes: fromApiNotes(m.notes),
      source: 'upload',
    }, { keepId: true });
    $('record-status').textContent = `Loaded ${m.note_count} notes from ${file.name}.`;
  } catch (err) {
    $('record-status').textContent = '';
    toast(err.message, 'error');
  } finally {
    $('midi-upload').value = '';
  }
}

// ---- recording ----

let beatTimer = 0;

function toggleRecord() {
  ensureSynth();
  if (recorder.recording) return stopRecording();
  state.player.stop();
  const meter = meterValue();
  const bpm = Number($('tempo').value);
  if (!(bpm >= 20 && bpm <= 400)) {
    toast('Tempo must be between 20 and 400 BPM.', 'error');
    return;
  }
  const countIn = Number($('count-in').value);
  recorder.start({ bpm, meter, countInBars: countIn, metronome: $('metronome').checked });
  $('record').setAttribute('aria-pressed', 'true');
  $('record').lastChild.textContent = ' Stop';
  const clicks = Math.round(beatsPerBar(meter) / (4 / meter[1]));
  const dots = $('beat-indicator');
  dots.innerHTML = '<span></span>'.repeat(clicks);
  const frame = () => {
    if (!recorder.recording) return;
    const pos = recorder.position;
    const unit = 4 / meter[1];
    const index = Math.floor((((pos % beatsPerBar(meter)) + beatsPerBar(meter)) % beatsPerBar(meter)) / unit);
    [...dots.children].forEach((d, i) => {
      d.classList.toggle('on', i === index);
      d.classList.toggle('count', pos < 0);
    });
    $('record-status').textContent =
      pos < 0 ? `Count-in… ${Math.ceil(-pos / unit)}` : `Recording — bar ${Math.floor(pos / beatsPerBar(meter)) + 1}. Press Record again (or Space) to stop.`;
    beatTimer = requestAnimationFrame(frame);
  };
  frame();
}

function stopRecording() {
  cancelAnimationFrame(beatTimer);
  const raw = recorder.stop();
  $('record').setAttribute('aria-pressed', 'false');
  $('record').lastChild.textContent = ' Record';
  $('beat-indicator').textContent = '';
  const step = Number($('quantize').value);
  const notes = step > 0 ? quantize(raw, step) : raw;
  if (!notes.length) {
    $('record-status').textContent = 'Nothing was recorded. Play some notes after the count-in.';
    return;
  }
  changeNotes(notes, { source: 'keyboard' });
  $('record-status').textContent = `Recorded ${notes.length} note${notes.length === 1 ? '' : 's'}${step > 0 ? ', quantized' : ''}.`;
}

function playMelody() {
  const p = state.player;
  if (p.playing) {
    p.stop();
    return;
  }
  const m = state.melody;
  if (!m.notes.length) return;
  p.audible = () => true;
  p.load({
    tracks: [{ role: 'melody', notes: m.notes }],
    bpm: m.tempo,
    totalBeats: lengthInBars(m.notes, m.meter) * beatsPerBar(m.meter),
  });
  p.owner = 'compose';
  p.play(0);
}

function isTyping(el) {
  return el && (el.tagName === 'INPUT' && !['checkbox', 'radio', 'button'].includes(el.type)) || el?.tagName === 'TEXTAREA' || el?.tagName === 'SELECT' || el?.classList?.contains('roll-canvas');
}

export function initCompose() {
  piano = new Piano($('piano-host'), {
    onNoteOn: noteOn,
    onNoteOff: noteOff,
    onOctave: (base) => ($('octave-label').textContent = `${pitchName(base)}–${pitchName(base + piano.span - 1)}`),
  });
  piano.setOctave(60);
  roll = new PianoRoll($('melody-roll'), {
    editable: true,
    label: 'Melody piano roll',
    onChange: (notes) => changeNotes(notes.map((n) => ({ ...n }))),
  });
  recorder = { recording: false, noteOn() {}, noteOff() {} };
  onMelody(showMelody);
  showMelody(state.melody);

  new MidiInput({ select: $('midi-select'), status: $('midi-status'), onNoteOn: noteOn, onNoteOff: noteOff }).connect();

  $('octave-down').addEventListener('click', () => piano.shiftOctave(-1));
  $('octave-up').addEventListener('click', () => piano.shiftOctave(1));
  $('sample-load').addEventListener('click', loadSample);
  $('midi-upload').addEventListener('change', (ev) => ev.target.files[0] && upload(ev.target.files[0]));
  $('melody-clear').addEventListener('click', () => {
    changeNotes([], { source: 'keyboard' });
    setMelody({ name: 'My melody' });
  });
  $('record').addEventListener('click', toggleRecord);
  $('melody-play').addEventListener('click', playMelody);
  $('melody-quantize').addEventListener('click', () => {
    const step = Number($('quantize').value) || 0.25;
    changeNotes(quantize(state.melody.notes, step));
  });
  $('melody-undo').addEventListener('click', () => {
    const prev = undo.pop();
    if (prev) setMelody(prev, { keepId: true });
    $('melody-undo').disabled = undo.length === 0;
  });
  $('melody-name').addEventListener('change', () => setMelody({ name: $('melody-name').value.trim() || 'My melody' }));
  for (const id of ['tempo', 'meter'])
    $(id).addEventListener('change', () =>
      setMelody({ tempo: Number($('tempo').value) || 100, meter: meterValue(), edited: true }),
    );
  $('to-generate').addEventListener('click', () => (location.hash = '#/generate'));
  state.player.onPosition((beat, playing) => {
    if (state.player.owner !== 'compose') return;
    roll.setCursor(playing ? beat : null);
    $('melody-play').setAttribute('aria-pressed', String(playing));
    $('melody-play').textContent = playing ? '■ Stop' : '▶ Play melody';
  });

  document.addEventListener('keydown', (ev) => {
    if ($('view-compose').hidden || isTyping(document.activeElement)) return;
    if (ev.key === ' ' && recorder.recording) {
      ev.preventDefault();
      stopRecording();
      return;
    }
    if (piano.keyDown(ev)) ev.preventDefault();
  });
  document.addEventListener('keyup', (ev) => {
    if (piano.keyUp(ev)) ev.preventDefault();
  });
  window.addEventListener('blur', () => piano.releaseAll());
  loadSamples();
}

/** Saves the melody (if it changed since it was last saved) and returns its server id. */
export async function ensureMelodySaved() {
  const m = state.melody;
  if (m.id) return m.id;
  if (!m.notes.length) throw new Error('The melody is empty. Play, record, upload or pick a sample first.');
  let saved;
  const untouchedSample = m.source === 'sample' && m.sampleId && !m.edited;
  if (untouchedSample) saved = await post('/api/melodies', { sample: m.sampleId });
  else
    saved = await post('/api/melodies', {
      name: m.name,
      tempo_bpm: m.tempo,
      meter: { numerator: m.meter[0], denominator: m.meter[1] },
      notes: m.notes.map((n) => ({
        pitch: n.pitch,
        velocity: Math.max(1, Math.min(127, Math.round(n.velocity))),
        start_beats: n.start,
        duration_beats: n.duration,
      })),
    });
  setMelody({ id: saved.id, name: saved.name }, { keepId: true });
  return saved.id;
}
