// The one place the console talks to the server (docs/api.md): JSON requests, Server-Sent
// Events, and the translation of API errors into sentences a musician can act on.

/** An API failure with a message meant for people (`message`) and the server's `code`. */
export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

const FRIENDLY = {
  invalid_midi:
    "That file isn't a MIDI file Orchestrion can read. Export it again as a Standard MIDI File (.mid) and try once more.",
  invalid_archive:
    "That zip can't be used: it's damaged, or a file inside has an unsafe path. Zip a plain folder of .mid files.",
  payload_too_large: 'That file is too big for the studio. Try a shorter piece or a smaller zip.',
  too_many_jobs:
    'You already have the most pieces the studio will work on at once. Wait for one to finish, then try again.',
  not_ready: "This piece isn't finished yet. Wait until it has been generated.",
  not_found: "That piece or link doesn't exist any more — it may have been deleted or the share link revoked.",
  unauthorized: 'Please sign in again: the studio did not recognise you.',
  unavailable: 'The studio is starting up or shutting down. Try again in a moment.',
  unsupported_media_type: 'The studio did not understand that upload.',
  conflict: null,
  generation_failed: 'The model could not write an arrangement for this melody.',
  model_unavailable: "That genre model isn't available right now. Pick another one.",
  render_failed: 'The audio could not be rendered. The MIDI download still works.',
  training_failed: 'Training stopped with an error.',
  cancelled: 'This job was cancelled.',
  lease_expired: 'The worker doing this job stopped several times, so the studio gave up.',
};

/** Turns an API error body into a message: the friendly sentence, plus the server's detail where it helps. */
export function describeError(code, serverMessage, status) {
  const friendly = FRIENDLY[code];
  if (code === 'validation' || code === 'bad_request' || code === 'conflict' || !friendly) {
    if (code === 'internal' || status >= 500)
      return "Something went wrong inside the studio (it's been logged). Try again; if it keeps happening, tell whoever runs this server.";
    const detail = serverMessage ? capitalise(serverMessage) : 'The request was refused.';
    return code === 'validation' ? `Please check your settings: ${detail}` : detail;
  }
  if (serverMessage && ['generation_failed', 'training_failed', 'render_failed'].includes(code))
    return `${friendly} (${serverMessage})`;
  return friendly;
}

function capitalise(s) {
  return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.');
}

/** Sends a request; `body` may be a plain object (sent as JSON) or FormData. */
export async function api(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(
      "Can't reach the Orchestrion server. Check that `orchestrion serve` is still running, then try again.",
      'network',
      0,
    );
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (res.status === 401 && path !== '/api/session') window.dispatchEvent(new CustomEvent('orchestrion:signin'));
  if (!res.ok) {
    const err = data?.error || {};
    throw new ApiError(describeError(err.code, err.message, res.status), err.code || 'http', res.status);
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const del = (path) => api('DELETE', path);

/**
 * Follows a Server-Sent Events stream. `handlers` maps event names to callbacks; the stream is
 * closed after `done`. Returns a function that closes it.
 */
export function follow(path, handlers) {
  const source = new EventSource(path);
  let finished = false;
  for (const [name, cb] of Object.entries(handlers)) {
    if (name === 'error') continue;
    source.addEventListener(name, (ev) => {
      let data = null;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (name === 'done') {
        finished = true;
        source.close();
      }
      cb(data);
    });
  }
  source.onerror = () => {
    // EventSource reconnects by itself (resuming with Last-Event-ID); tell the page only when
    // the stream is gone for good.
    if (!finished && source.readyState === EventSource.CLOSED && handlers.error) handlers.error();
  };
  return () => source.close();
}

/** Melody notes as the API spells them, from the console's beats-based notes. */
export function toApiNotes(notes) {
  return notes.map((n) => ({
    pitch: n.pitch,
    velocity: Math.max(1, Math.min(127, Math.round(n.velocity))),
    start_beats: n.start,
    duration_beats: n.duration,
  }));
}

export function fromApiNotes(notes) {
  return (notes || []).map((n) => ({
    pitch: n.pitch,
    velocity: n.velocity ?? 90,
    start: n.start_beats ?? n.start,
    duration: n.duration_beats ?? n.duration,
  }));
}
