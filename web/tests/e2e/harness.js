// Test harness: starts the real `orchestrion serve` on a free port with a fresh data folder,
// launches Debian's headless Chromium through playwright-core, and offers helpers for
// screenshots, page-error capture, MIDI fixtures and zip archives.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
export const { Midi } = require('@tonejs/midi');

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const screenshotDir = path.join(repoRoot, 'target', 'screenshots');
/** Genre models the server loads: the repo's shipped `models/`, unless ORCHESTRION_MODELS_DIR says otherwise. */
export const modelsDir = path.resolve(process.env.ORCHESTRION_MODELS_DIR || path.join(repoRoot, 'models'));
/** The genre model shipped in `models/` that the Generate tests use, independent of training. */
export const SHIPPED_MODEL = process.env.E2E_MODEL || 'folk';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitForHealth(base, child, log, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode != null) throw new Error(`orchestrion serve exited with ${child.exitCode}:\n${log()}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`orchestrion serve did not answer /healthz within ${timeoutMs} ms:\n${log()}`);
}

/** The binary under test: ORCHESTRION_BIN, else the workspace's debug build. */
export function serverBinary() {
  const candidates = [
    process.env.ORCHESTRION_BIN,
    process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, 'debug', 'orchestrion'),
    path.join(repoRoot, 'target', 'debug', 'orchestrion'),
  ].filter(Boolean);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found)
    throw new Error(`orchestrion binary not found (tried ${candidates.join(', ')}); build it and set ORCHESTRION_BIN`);
  return found;
}

/** Starts server + browser. ORCHESTRION_TEST_URL points the tests at a server already running. */
export async function start() {
  fs.mkdirSync(screenshotDir, { recursive: true });
  let base = process.env.ORCHESTRION_TEST_URL;
  let child = null;
  let dataDir = null;
  let output = '';
  if (!base) {
    const port = await freePort();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchestrion-e2e-'));
    if (!fs.existsSync(modelsDir)) throw new Error(`models folder ${modelsDir} not found; set ORCHESTRION_MODELS_DIR`);
    const args = ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir, '--models-dir', modelsDir];
    child = spawn(serverBinary(), args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info' } });
    const keep = (chunk) => {
      output += chunk;
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    base = `http://127.0.0.1:${port}`;
    await waitForHealth(base, child, () => output.slice(-4000));
  }
  // playwright-core gives every launch a fresh temporary profile (its own --user-data-dir).
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
  });
  return {
    base,
    browser,
    serverLog: () => output.slice(-6000),
    async stop() {
      await browser.close().catch(() => {});
      if (child) {
        child.kill('SIGTERM');
        await new Promise((r) => {
          if (child.exitCode != null) return r();
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            r();
          }, 10_000);
          child.on('exit', () => {
            clearTimeout(t);
            r();
          });
        });
      }
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Opens a page in a fresh context and records uncaught page errors so tests can assert none. */
export async function openPage(env, urlPath, { viewport = { width: 1280, height: 800 }, init, context } = {}) {
  const ctx = context || (await env.browser.newContext({ viewport, acceptDownloads: true }));
  if (init) await ctx.addInitScript(init);
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(err.message));
  await page.goto(`${env.base}${urlPath}`);
  await page.waitForSelector('html[data-ready="true"]', { timeout: 15_000 });
  return page;
}

export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

/** A small band piece as MIDI: melody, drums (channel 10), bass and piano tracks, 4/4. */
export function bandMidi(variant = 0, bars = 8) {
  const midi = new Midi();
  midi.header.setTempo(110 + variant * 5);
  midi.header.timeSignatures.push({ ticks: 0, timeSignature: [4, 4] });
  const beat = 60 / (110 + variant * 5);
  const scale = [0, 2, 4, 5, 7, 9, 11, 12];
  const root = 60 + (variant % 5);
  const melody = midi.addTrack();
  melody.name = 'Melody';
  melody.channel = 0;
  melody.instrument.number = 73;
  const drums = midi.addTrack();
  drums.name = 'Drums';
  drums.channel = 9;
  const bass = midi.addTrack();
  bass.name = 'Bass';
  bass.channel = 1;
  bass.instrument.number = 33;
  const piano = midi.addTrack();
  piano.name = 'Piano';
  piano.channel = 2;
  piano.instrument.number = 0;
  const progression = [0, 5, 7, 0, 9, 5, 7, 0];
  for (let bar = 0; bar < bars; bar++) {
    const chord = root + progression[(bar + variant) % progression.length];
    for (let b = 0; b < 4; b++) {
      const t = (bar * 4 + b) * beat;
      melody.addNote({ midi: root + 12 + scale[(bar * 3 + b * (variant + 1)) % scale.length], time: t, duration: beat * 0.9, velocity: 0.8 });
      drums.addNote({ midi: b % 2 ? 38 : 36, time: t, duration: beat / 4, velocity: 0.9 });
      drums.addNote({ midi: 42, time: t + beat / 2, duration: beat / 4, velocity: 0.6 });
      bass.addNote({ midi: chord - 24 + (b === 2 ? 7 : 0), time: t, duration: beat * 0.9, velocity: 0.8 });
    }
    for (const iv of [0, 4, 7]) piano.addNote({ midi: chord + iv - 12, time: bar * 4 * beat, duration: beat * 3.8, velocity: 0.6 });
  }
  return Buffer.from(midi.toArray());
}

/** A zip archive of the given files, stored or (with `deflate`) compressed. */
export function zipArchive(files, { deflate = false } = {}) {
  const locals = [];
  const central = [];
  let offset = 0;
  for (const { name, data } of files) {
    const nameBuf = Buffer.from(name);
    const crc = zlib.crc32(data);
    const body = deflate ? zlib.deflateRawSync(data) : data;
    const method = deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    locals.push(local, nameBuf, body);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(method, 10);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(body.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(nameBuf.length, 28);
    entry.writeUInt32LE(offset, 42);
    central.push(entry, nameBuf);
    offset += 30 + nameBuf.length + body.length;
  }
  const centralBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralBuf, end]);
}

/** Script run in the page before its own scripts: a fake Web MIDI keyboard the test can play. */
export const FAKE_WEB_MIDI = `(() => {
  const listeners = new Set();
  const input = {
    id: 'fake-1', name: 'Fake Keys 49', manufacturer: 'Test', type: 'input', state: 'connected', connection: 'open',
    onmidimessage: null,
    addEventListener(type, fn) { if (type === 'midimessage') listeners.add(fn); },
    removeEventListener(type, fn) { listeners.delete(fn); },
  };
  const access = { inputs: new Map([[input.id, input]]), outputs: new Map(), sysexEnabled: false, onstatechange: null };
  navigator.requestMIDIAccess = () => Promise.resolve(access);
  window.__fakeMidi = {
    send(bytes) {
      const ev = { data: new Uint8Array(bytes), timeStamp: performance.now() };
      if (input.onmidimessage) input.onmidimessage(ev);
      for (const fn of listeners) fn(ev);
    },
  };
})();`;

export const NO_WEB_MIDI = `delete Navigator.prototype.requestMIDIAccess; delete navigator.requestMIDIAccess;`;
