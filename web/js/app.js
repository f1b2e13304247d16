// Entry point of the console: wires the views and routes between them by the URL hash
// (#/compose, #/generate, #/train, #/models, #/history, #/composition/<id>).

import { $ } from './ui.js';
import { post } from './api.js';
import { state } from './state.js';
import { initCompose } from './compose.js';
import { initGenerate, onShowGenerate, openComposition } from './generate.js';
import { initTrain, onShowTrain } from './train.js';
import { showModels } from './models.js';
import { initHistory, showHistory } from './history.js';

const VIEWS = ['compose', 'generate', 'train', 'models', 'history'];

function route() {
  const [, name = 'compose', arg] = location.hash.split('/');
  let view = VIEWS.includes(name) ? name : 'compose';
  if (name === 'composition' && arg) view = 'generate';
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  for (const a of document.querySelectorAll('.topbar nav a')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${view[0].toUpperCase()}${view.slice(1)} · Orchestrion`;
  if (state.player.playing) state.player.stop();
  if (view === 'generate') onShowGenerate();
  if (name === 'composition' && arg) openComposition(arg);
  if (view === 'train') onShowTrain();
  if (view === 'models') showModels();
  if (view === 'history') showHistory();
}

/** Token mode (api.md, Auth): any 401 asks for a token once, then the session cookie carries it. */
window.addEventListener('orchestrion:signin', () => {
  const dialog = $('signin-dialog');
  if (!dialog.open) dialog.showModal();
});
$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    await post('/api/session', { token: $('signin-token').value.trim() });
    location.reload();
  } catch (err) {
    $('signin-error').hidden = false;
    $('signin-error').textContent = err.code === 'unauthorized' ? 'That token was not accepted. Check it and try again.' : err.message;
  }
});

initCompose();
initGenerate();
initTrain();
initHistory();
window.addEventListener('hashchange', () => {
  route();
  $('main').focus({ preventScroll: true });
});
route();
document.documentElement.dataset.ready = 'true';
