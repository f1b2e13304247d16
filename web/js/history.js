// The History view: my compositions, newest first, with their state; open one in the Generate
// view or delete it.

import { $, toast, when, escapeHtml } from './ui.js';
import { get, del } from './api.js';

const PAGE = 20;
let offset = 0;

export async function showHistory(more = false) {
  if (!more) offset = 0;
  const body = $('history-rows');
  try {
    const page = await get(`/api/compositions?limit=${PAGE}&offset=${offset}`);
    if (!more) body.textContent = '';
    for (const c of page.items) body.append(row(c));
    offset += page.items.length;
    $('history-more').hidden = offset >= page.total;
    if (!page.total) body.innerHTML = '<tr><td colspan="7" class="muted">Nothing yet. Generate something on the Generate page.</td></tr>';
  } catch (err) {
    toast(err.message, 'error');
  }
}

function row(c) {
  const tr = document.createElement('tr');
  tr.innerHTML = `<td>${escapeHtml(c.melody_name || '—')}</td><td>${escapeHtml(c.model)}</td><td>${c.bars}</td><td>${c.seed}</td>
    <td><span class="badge ${escapeHtml(c.status)}">${escapeHtml(c.status)}</span>${c.share ? ' <span class="badge">shared</span>' : ''}</td>
    <td>${escapeHtml(when(c.created_at))}</td><td class="actions"></td>`;
  const actions = tr.querySelector('.actions');
  const open = document.createElement('a');
  open.className = 'button';
  open.href = `#/composition/${c.id}`;
  open.textContent = 'Open';
  open.setAttribute('aria-label', `Open ${c.melody_name || 'composition'} with ${c.model}, seed ${c.seed}`);
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'danger';
  remove.textContent = 'Delete';
  remove.setAttribute('aria-label', `Delete ${c.melody_name || 'composition'} with ${c.model}, seed ${c.seed}`);
  remove.addEventListener('click', async () => {
    if (!confirm('Delete this composition and its share link?')) return;
    try {
      await del(`/api/compositions/${c.id}`);
      tr.remove();
      toast('Deleted.');
    } catch (err) {
      toast(err.message, 'error');
    }
  });
  actions.append(open, ' ', remove);
  return tr;
}

export function initHistory() {
  $('history-more').addEventListener('click', () => showHistory(true));
}
