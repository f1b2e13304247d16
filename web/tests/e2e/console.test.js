// End-to-end tests of the web console in headless Chromium against the real server: compose
// with the computer keys and a (fake) MIDI keyboard, train a tiny model and watch its charts,
// generate with the genre model shipped in `models/`, see and play the roll, download a MIDI
// that parses, share, revoke, and check that the pages read well at 1280×800 and on a phone.
// Generating does not depend on the Train test: it uses the shipped model.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { start, openPage, screenshot, Midi, bandMidi, zipArchive, FAKE_WEB_MIDI, NO_WEB_MIDI, SHIPPED_MODEL } from './harness.js';

const GENERATE_TIMEOUT_MS = Number(process.env.E2E_GENERATE_TIMEOUT_MS || 180_000);
const TRAIN_TIMEOUT_MS = Number(process.env.E2E_TRAIN_TIMEOUT_MS || 300_000);
const TRAIN_STEPS = Number(process.env.E2E_TRAIN_STEPS || 20);

let env;
/** Shared between the tests that follow one composition through its life. */
const flow = { compositionId: null, shareUrl: null };

async function api(pathname, init) {
  const res = await fetch(`${env.base}${pathname}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Holds a computer key down for `ms` milliseconds like a person would. */
async function tap(page, key, ms = 180) {
  await page.keyboard.down(key);
  await page.waitForTimeout(ms);
  await page.keyboard.up(key);
  await page.waitForTimeout(60);
}

async function noteCount(page, selector) {
  return Number(await page.getAttribute(`${selector} canvas.roll-canvas`, 'data-note-count'));
}

function assertNoPageErrors(page) {
  assert.deepEqual(page.errors, [], `uncaught errors in the page: ${page.errors.join('; ')}`);
}

before(async () => {
  env = await start();
});

after(async () => {
  await env?.stop();
});

describe('compose', () => {
  it('records a melody played on the computer keys, with octave shift and quantize', async () => {
    const page = await openPage(env, '/#/compose');
    await page.selectOption('#count-in', '0');
    await page.fill('#tempo', '120');
    await page.dispatchEvent('#tempo', 'change');
    await page.click('#record');
    assert.equal(await page.getAttribute('#record', 'aria-pressed'), 'true');
    await page.locator('body').focus();
    await page.evaluate(() => document.activeElement.blur());
    for (const key of ['a', 's', 'd', 'f']) await tap(page, key);
    await page.keyboard.press('x'); // octave up: the same key now plays an octave higher
    await tap(page, 'a', 300);
    await page.click('#record');
    assert.equal(await page.getAttribute('#record', 'aria-pressed'), 'false');
    assert.equal(await noteCount(page, '#melody-roll'), 5);
    assert.match(await page.textContent('#melody-summary'), /5 notes/);
    assert.match(await page.textContent('#octave-label'), /C5/);

    // The recorded pitches reach the server exactly: save the melody through the Generate flow.
    const posted = page.waitForResponse((r) => r.url().endsWith('/api/melodies') && r.request().method() === 'POST');
    await page.click('#to-generate');
    await page.waitForSelector('#view-generate:not([hidden])');
    await page.evaluate(() => import('/js/compose.js').then((m) => m.ensureMelodySaved()));
    const melody = await (await posted).json();
    assert.deepEqual(
      melody.notes.map((n) => n.pitch),
      [60, 62, 64, 65, 72],
    );
    for (const n of melody.notes) assert.equal((n.start_beats * 4) % 1, 0, 'onsets are on the 16th grid');
    await page.goto(`${env.base}/#/compose`);
    await screenshot(page, 'compose-1280');
    assertNoPageErrors(page);
    await page.context().close();
  });

  it('edits the melody roll with the keyboard: select, move, lengthen, delete', async () => {
    const page = await openPage(env, '/#/compose');
    await page.waitForFunction(() => document.querySelector('#sample-select').options.length > 0 && document.querySelector('#sample-select').value);
    await page.selectOption('#sample-select', 'twinkle');
    await page.click('#sample-load');
    const before = await noteCount(page, '#melody-roll');
    assert.ok(before > 10, `the sample has notes (${before})`);
    await page.focus('#melody-roll canvas');
    await page.keyboard.press('.'); // select the first note
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Delete');
    assert.equal(await noteCount(page, '#melody-roll'), before - 1);
    await page.click('#melody-undo');
    assert.equal(await noteCount(page, '#melody-roll'), before);

    // With the mouse: drag the first note's right edge to lengthen it, then drag it up.
    await page.focus('#melody-roll canvas');
    await page.keyboard.press('.');
    const canvas = page.locator('#melody-roll canvas');
    const selected = async () => JSON.parse(await canvas.getAttribute('data-selected'));
    const rect = async () => (await canvas.getAttribute('data-selected-rect')).split(',').map(Number);
    const box = await canvas.boundingBox();
    const first = await selected();
    let [x, y, w, h] = await rect();
    await page.mouse.move(box.x + x + w - 2, box.y + y + h / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + x + w + 60, box.y + y + h / 2, { steps: 5 });
    await page.mouse.up();
    const longer = await selected();
    assert.ok(longer.duration > first.duration, `lengthened from ${first.duration} to ${longer.duration}`);
    assert.equal(longer.start, first.start);
    [x, y, w, h] = await rect();
    await page.mouse.move(box.x + x + 4, box.y + y + h / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + x + 4, box.y + y + h / 2 - 2 * h, { steps: 5 });
    await page.mouse.up();
    assert.equal((await selected()).pitch, first.pitch + 2, 'dragged up two semitones');
    assert.equal(await noteCount(page, '#melody-roll'), before);

    // Play the melody: the cursor moves.
    await page.click('#melody-play');
    await page.waitForFunction(() => Number(document.querySelector('#melody-roll canvas').dataset.cursor || 0) > 0.3, null, { timeout: 10_000 });
    await page.click('#melody-play');
    assertNoPageErrors(page);
    await page.context().close();
  });

  it('plays and records from a Web MIDI keyboard (fake MIDIAccess injected)', async () => {
    const page = await openPage(env, '/#/compose', { init: FAKE_WEB_MIDI });
    await page.waitForFunction(() => [...document.querySelectorAll('#midi-select option')].some((o) => o.text === 'Fake Keys 49'));
    assert.match(await page.textContent('#midi-status'), /Listening to Fake Keys 49/);
    await page.click('#melody-clear');
    await page.selectOption('#count-in', '0');
    await page.click('#record');
    for (const pitch of [67, 69, 71]) {
      await page.evaluate((p) => window.__fakeMidi.send([0x90, p, 100]), pitch);
      assert.ok(await page.$(`.piano .key.down[data-pitch="${pitch}"]`), `key ${pitch} shows as held`);
      await page.waitForTimeout(200);
      await page.evaluate((p) => window.__fakeMidi.send([0x80, p, 0]), pitch);
      await page.waitForTimeout(60);
    }
    await page.click('#record');
    assert.equal(await noteCount(page, '#melody-roll'), 3);
    assertNoPageErrors(page);
    await page.context().close();
  });

  it('plays the on-screen piano by touch', async () => {
    const ctx = await env.browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    const page = await openPage(env, '/#/compose', { context: ctx });
    await page.click('#melody-clear');
    await page.selectOption('#count-in', '0');
    await page.tap('#record');
    for (const pitch of [60, 64, 67]) {
      await page.tap(`.piano .key[data-pitch="${pitch}"]`);
      await page.waitForTimeout(150);
    }
    await page.tap('#record');
    assert.equal(await noteCount(page, '#melody-roll'), 3);
    assertNoPageErrors(page);
    await ctx.close();
  });

  it('says clearly when the browser has no Web MIDI', async () => {
    const page = await openPage(env, '/#/compose', { init: NO_WEB_MIDI });
    await page.waitForFunction(() => document.querySelector('#midi-status').textContent.length > 0);
    assert.match(await page.textContent('#midi-status'), /no Web MIDI/);
    assert.equal(await page.isDisabled('#midi-select'), true);
    await page.context().close();
  });

  it('explains an unreadable .mid upload in plain words', async () => {
    const page = await openPage(env, '/#/compose');
    await page.setInputFiles('#midi-upload', { name: 'broken.mid', mimeType: 'audio/midi', buffer: Buffer.from('this is not midi') });
    await page.waitForSelector('#toast.show.error');
    assert.match(await page.textContent('#toast'), /isn't a MIDI file Orchestrion can read/);
    await page.context().close();
  });

  it('loads an uploaded .mid into the melody roll', async () => {
    const page = await openPage(env, '/#/compose');
    await page.setInputFiles('#midi-upload', { name: 'band.mid', mimeType: 'audio/midi', buffer: bandMidi(0, 4) });
    await page.waitForFunction(() => /Loaded \d+ notes/.test(document.querySelector('#record-status').textContent));
    assert.equal(await noteCount(page, '#melody-roll'), 16);
    assertNoPageErrors(page);
    await page.context().close();
  });
});

describe('train', () => {
  it('trains a tiny run from a zip and the charts update live', { timeout: TRAIN_TIMEOUT_MS + 60_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestrion-zip-'));
    const zipPath = path.join(dir, 'tiny-band.zip');
    const files = Array.from({ length: 6 }, (_, i) => ({ name: `songs/band-${i}.mid`, data: bandMidi(i) }));
    fs.writeFileSync(zipPath, zipArchive(files));
    const page = await openPage(env, '/#/train');
    await page.setInputFiles('#train-zip', zipPath);
    await page.waitForSelector('#train-inspect table');
    const inspected = await page.textContent('#train-inspect');
    assert.match(inspected, /6 of 6 MIDI files read/);
    for (const role of ['drums', 'bass', 'piano'])
      assert.equal(await page.isChecked(`#train-roles input[value="${role}"]`), true, `${role} proposed`);
    const name = `e2e-tiny-${Date.now().toString(36)}`;
    await page.fill('#train-name', name);
    await page.fill('#train-steps', String(TRAIN_STEPS));
    await page.click('#train-submit');
    await page.waitForFunction(() => document.querySelector('#run-select').value !== '', null, { timeout: 20_000 });
    assert.equal(await page.isVisible('#train-error'), false, await page.textContent('#train-error'));
    // The loss chart gets points while the run goes (it replays history, so this also holds for
    // a run that finished quickly).
    await page.waitForFunction(
      () =>
        Number(document.querySelector('#charts canvas')?.dataset.points || 0) >= 2 ||
        /succeeded|failed|cancelled/.test(document.querySelector('#run-status').textContent),
      null,
      { timeout: TRAIN_TIMEOUT_MS },
    );
    await screenshot(page, 'train-running-1280');
    await page.waitForFunction(
      () => /succeeded|failed|cancelled/.test(document.querySelector('#run-status').textContent),
      null,
      { timeout: TRAIN_TIMEOUT_MS },
    );
    assert.match(await page.textContent('#run-status'), /succeeded/, await page.textContent('#run-error'));
    const points = Number(await page.getAttribute('#charts canvas', 'data-points'));
    assert.ok(points >= 2, `loss chart has ${points} points`);
    assert.ok((await page.$$('#checkpoints li:not(.muted)')).length >= 1, 'at least one checkpoint sample');
    assert.ok((await page.$$('#charts figure')).length >= 2, 'a metric chart beside the loss chart');
    await page.click('#checkpoints li button');
    await page.waitForFunction(() => document.querySelector('#checkpoints li button').textContent.includes('Stop'));
    await page.click('#checkpoints li button');
    await page.fill('#publish-name', name);
    await page.click('#publish');
    await page.waitForSelector('#toast.show');
    assert.match(await page.textContent('#toast'), /Published/);
    await screenshot(page, 'train-done-1280');
    assertNoPageErrors(page);
    await page.context().close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('generate, play, download, share', () => {
  it('generates an arrangement of a sample melody and shows it as a multi-track roll', { timeout: GENERATE_TIMEOUT_MS + 60_000 }, async () => {
    const page = await openPage(env, '/#/compose');
    await page.waitForFunction(() => document.querySelector('#sample-select').value);
    await page.selectOption('#sample-select', 'twinkle');
    await page.click('#sample-load');
    await page.click('#to-generate');
    const models = (await api('/api/models')).body.items;
    assert.ok(
      models.some((m) => m.name === SHIPPED_MODEL),
      `the shipped model ${SHIPPED_MODEL} is served (got ${models.map((m) => m.name).join(', ') || 'none'})`,
    );
    await page.waitForFunction(() => document.querySelector('#gen-model').value !== '');
    await page.selectOption('#gen-model', SHIPPED_MODEL);
    assert.equal(await page.inputValue('#gen-model'), SHIPPED_MODEL);
    await page.click('#gen-model-card');
    await page.waitForFunction(() => !/Loading/.test(document.querySelector('#card-body').textContent));
    assert.match(await page.textContent('#card-body'), /Metrics/);
    await screenshot(page, 'model-card-1280');
    await page.keyboard.press('Escape');
    await page.fill('#gen-bars', '4');
    await page.fill('#gen-seed', '42');
    await page.fill('#gen-candidates', '2');
    await page.click('#gen-submit');
    await page.waitForSelector('#result:not([hidden])', { timeout: GENERATE_TIMEOUT_MS }).catch(async () => {
      throw new Error(`no result: ${await page.textContent('#gen-error')}`);
    });
    const tracks = Number(await page.getAttribute('#result-roll canvas', 'data-track-count'));
    assert.ok(tracks >= 2, `melody plus generated tracks (${tracks})`);
    assert.ok((await noteCount(page, '#result-roll')) > 0);
    assert.match(await page.textContent('#result-meta'), /seed 42/);
    flow.compositionId = page.url().split('/').pop();
    const list = await api('/api/compositions');
    flow.compositionId = list.body.items[0].id;
    await screenshot(page, 'generate-1280');

    // Play with the synth: the cursor moves.
    await page.click('#res-play');
    await page.waitForFunction(() => Number(document.querySelector('#result-roll canvas').dataset.cursor || 0) > 0.5, null, { timeout: 10_000 });
    await page.click('#res-play');
    assert.equal(await page.getAttribute('#res-play', 'aria-pressed'), 'false');

    // Mute a track: it is drawn faded and the synth skips it.
    await page.check('#track-rows tr:nth-child(2) input[data-act="mute"]');
    await page.check('#track-rows tr:nth-child(1) input[data-act="solo"]');
    await page.uncheck('#track-rows tr:nth-child(1) input[data-act="solo"]');
    assertNoPageErrors(page);
    await page.context().close();
  });

  it('downloads a MIDI file that parses and keeps the melody note for note', async () => {
    assert.ok(flow.compositionId, 'needs the composition of the previous test');
    const page = await openPage(env, `/#/composition/${flow.compositionId}`);
    await page.waitForSelector('#result:not([hidden])');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dl-midi')]);
    const file = await download.path();
    const midi = new Midi(fs.readFileSync(file));
    const withNotes = midi.tracks.filter((t) => t.notes.length);
    assert.ok(withNotes.length >= 2, `MIDI has ${withNotes.length} tracks with notes`);
    const sample = (await api('/api/samples')).body.items.find((s) => s.id === 'twinkle');
    const melodyPitches = sample.notes.map((n) => n.pitch).join(',');
    const found = withNotes.some((t) => t.notes.map((n) => n.midi).join(',').startsWith(melodyPitches.split(',').slice(0, 8).join(',')));
    assert.ok(found, 'one track starts with the sample melody');
    assertNoPageErrors(page);
    await page.context().close();
  });

  it('renders WAV audio and plays it with a moving cursor', async () => {
    assert.ok(flow.compositionId, 'needs the composition generated by an earlier test');
    const page = await openPage(env, `/#/composition/${flow.compositionId}`);
    await page.waitForSelector('#result:not([hidden])');
    const wav = await fetch(`${env.base}/api/compositions/${flow.compositionId}/wav`);
    assert.equal(wav.status, 200);
    const bytes = Buffer.from(await wav.arrayBuffer());
    assert.equal(bytes.subarray(0, 4).toString(), 'RIFF');
    await page.selectOption('#res-sound', 'wav');
    await page.click('#res-play');
    await page.waitForFunction(() => Number(document.querySelector('#result-roll canvas').dataset.cursor || 0) > 0.2, null, { timeout: 20_000 });
    await page.click('#res-play');
    assertNoPageErrors(page);
    await page.context().close();
  });

  it('shares a link that opens read-only in a fresh browser context, then revokes it', async () => {
    assert.ok(flow.compositionId, 'needs the composition generated by an earlier test');
    const page = await openPage(env, `/#/composition/${flow.compositionId}`);
    await page.waitForSelector('#result:not([hidden])');
    await page.click('#share-create');
    await page.waitForSelector('#share-url:not([hidden])');
    const url = await page.inputValue('#share-url');
    assert.match(url, /\/s\/[0-9a-f]{32}$/);

    const visitor = await openPage(env, new URL(url).pathname);
    assert.equal(await visitor.isVisible('#share-panel'), true, await visitor.textContent('#share-error'));
    assert.ok((await noteCount(visitor, '#share-roll')) > 0);
    assert.equal(await visitor.$$eval('input, textarea, [contenteditable="true"]', (els) => els.length), 0, 'nothing editable');
    const [download] = await Promise.all([visitor.waitForEvent('download'), visitor.click('#share-midi')]);
    const midi = new Midi(fs.readFileSync(await download.path()));
    assert.ok(midi.tracks.some((t) => t.notes.length));
    await visitor.click('#share-play');
    await visitor.waitForFunction(() => Number(document.querySelector('#share-roll canvas').dataset.cursor || 0) > 0.3, null, { timeout: 10_000 });
    await visitor.click('#share-play');
    await screenshot(visitor, 'shared-1280');
    await visitor.setViewportSize({ width: 390, height: 844 });
    await screenshot(visitor, 'shared-phone');
    assertNoPageErrors(visitor);
    await visitor.context().close();

    await page.click('#share-revoke');
    await page.waitForSelector('#share-create:not([hidden])');
    const gone = await openPage(env, new URL(url).pathname);
    assert.match(await gone.textContent('#share-error'), /no longer works/);
    await gone.context().close();
    await page.context().close();
  });

  it('locks a track and regenerates the rest around it', { timeout: GENERATE_TIMEOUT_MS + 30_000 }, async () => {
    assert.ok(flow.compositionId, 'needs the composition generated by an earlier test');
    const page = await openPage(env, `/#/composition/${flow.compositionId}`);
    await page.waitForSelector('#result:not([hidden])');
    const roll = (await api(`/api/compositions/${flow.compositionId}/roll`)).body;
    const keep = roll.tracks.find((t) => t.role !== 'melody');
    assert.ok(keep, 'a generated track to lock');
    const row = page.locator('#track-rows tr', { hasText: new RegExp(keep.name || keep.role, 'i') }).first();
    await row.locator('input[data-act="lock"]').check();
    await page.fill('#gen-seed', '43');
    await page.click('#regen');
    await page.waitForFunction((old) => /kept/.test(document.querySelector('#result-meta').textContent), flow.compositionId, {
      timeout: GENERATE_TIMEOUT_MS,
    });
    const list = (await api('/api/compositions')).body.items;
    const child = list.find((c) => c.parent_id === flow.compositionId);
    assert.ok(child, 'a composition derived from the first');
    const childRoll = (await api(`/api/compositions/${child.id}/roll`)).body;
    const kept = childRoll.tracks.find((t) => t.role === keep.role);
    assert.deepEqual(kept.notes, keep.notes, `${keep.role} kept note for note`);
    // The takes strip fills from its own request after the result shows: wait for it, bounded.
    const takesShown = await page
      .waitForFunction(() => document.querySelectorAll('#takes button').length >= 2, null, { timeout: 10_000 })
      .then(() => true, () => false);
    assert.ok(takesShown, 'takes to compare');
    assertNoPageErrors(page);
    await page.context().close();
  });

  it('lists my compositions in History and opens one', async () => {
    assert.ok(flow.compositionId, 'needs the composition generated by an earlier test');
    const page = await openPage(env, '/#/history');
    await page.waitForSelector('#history-rows tr a');
    assert.ok((await page.$$('#history-rows tr')).length >= 1);
    await screenshot(page, 'history-1280');
    await page.click('#history-rows tr a');
    await page.waitForSelector('#result:not([hidden])');
    assertNoPageErrors(page);
    await page.context().close();
  });
});

describe('layout and accessibility', () => {
  for (const view of ['compose', 'generate', 'train', 'models', 'history']) {
    it(`${view}: every control is labelled and the page fits a phone`, async () => {
      const page = await openPage(env, `/#/${view}`, { viewport: { width: 390, height: 844 } });
      await page.waitForTimeout(300);
      const unlabelled = await page.evaluate(() => {
        const visible = (el) => el.offsetParent !== null;
        return [...document.querySelectorAll('button, input, select, a[href], canvas[tabindex]')]
          .filter(visible)
          .filter((el) => {
            const name = el.getAttribute('aria-label') || (el.labels && [...el.labels].map((l) => l.textContent).join('')) || el.textContent || el.title;
            return !name || !name.trim();
          })
          .map((el) => el.outerHTML.slice(0, 80));
      });
      assert.deepEqual(unlabelled, []);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `page is ${overflow}px wider than the phone`);
      await screenshot(page, `${view}-phone`);
      await page.setViewportSize({ width: 1280, height: 800 });
      if (view === 'models') await screenshot(page, 'models-1280');
      assertNoPageErrors(page);
      await page.context().close();
    });
  }

  it('can be driven from the keyboard: Tab reaches the record button and Enter starts it', async () => {
    const page = await openPage(env, '/#/compose');
    await page.selectOption('#count-in', '0');
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'record');
    }
    assert.ok(reached, 'Tab reaches Record');
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('#record', 'aria-pressed'), 'true');
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('#record', 'aria-pressed'), 'false');
    await page.context().close();
  });
});
