// The Models view: every genre model with its roles, meters and headline metrics; the full card
// opens in a dialog.

import { $, escapeHtml, METRIC_NAMES } from './ui.js';
import { loadModels, showModelCard } from './generate.js';
import { roleColour } from './song.js';

export async function showModels() {
  const list = $('model-list');
  list.innerHTML = '<p class="muted">Loading…</p>';
  const models = await loadModels();
  list.textContent = '';
  if (!models.length) {
    list.innerHTML = '<p class="muted">No genre models are installed on this server yet. Train one on the Train page.</p>';
    return;
  }
  for (const m of models) {
    const card = document.createElement('article');
    card.className = 'card';
    const metrics = Object.entries(m.metrics || {})
      .filter(([, v]) => typeof v === 'number')
      .slice(0, 6)
      .map(([k, v]) => `<tr><td>${escapeHtml(METRIC_NAMES[k] || k)}</td><td>${v.toFixed(3)}</td></tr>`)
      .join('');
    card.innerHTML = `<h2>${escapeHtml(m.name)}</h2>
      <p>${escapeHtml(m.description || '')}</p>
      <div class="chips">${(m.roles || [])
        .map((r) => `<span class="chip" style="--swatch:${roleColour(r.role)}">${escapeHtml(r.role)}</span>`)
        .join('')}</div>
      <p>${escapeHtml(m.source || '')} · ${(m.meters || []).map((x) => `${x.numerator}/${x.denominator}`).join(', ')}</p>
      ${metrics ? `<table class="metric-table">${metrics}</table>` : ''}`;
    const open = document.createElement('button');
    open.type = 'button';
    open.textContent = 'Model card';
    open.setAttribute('aria-label', `Model card of ${m.name}`);
    open.addEventListener('click', () => showModelCard(m.name));
    const use = document.createElement('a');
    use.className = 'button primary';
    use.href = '#/generate';
    use.textContent = 'Use';
    use.addEventListener('click', () => setTimeout(() => ($('gen-model').value = m.name)));
    const row = document.createElement('div');
    row.className = 'row';
    row.append(open, use);
    card.append(row);
    list.append(card);
  }
}
