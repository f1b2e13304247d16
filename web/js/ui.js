// Small page helpers shared by every view: element lookup, the toast, time and date formats,
// and a minimal (escaping) Markdown renderer for model cards.

export const $ = (id) => document.getElementById(id);

let toastTimer = 0;
/** A short message at the bottom of the page; errors stay longer. */
export function toast(message, kind = '') {
  const el = $('toast');
  el.textContent = message;
  el.className = `toast show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.className = 'toast'), kind === 'error' ? 8000 : 3500);
}

export function showError(el, err) {
  if (!err) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  el.hidden = false;
  el.textContent = err.message || String(err);
}

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function inline(s) {
  return escapeHtml(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\*([^*]+)\*/g, '<em>$1</em>');
}

/** Headings, paragraphs, lists, tables and code blocks — enough for a MODEL_CARD.md. */
export function markdown(text) {
  const out = [];
  const lines = String(text || '').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.startsWith('```')) {
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i]);
      i++;
      out.push(`<pre><code>${escapeHtml(code.join('\n'))}</code></pre>`);
    } else if (/^#{1,6}\s/.test(line)) {
      const level = Math.min(6, line.match(/^#+/)[0].length + 1);
      out.push(`<h${level}>${inline(line.replace(/^#+\s*/, ''))}</h${level}>`);
      i++;
    } else if (/^\s*[-*]\s/.test(line)) {
      const items = [];
      for (; i < lines.length && /^\s*[-*]\s/.test(lines[i]); i++) items.push(`<li>${inline(lines[i].replace(/^\s*[-*]\s/, ''))}</li>`);
      out.push(`<ul>${items.join('')}</ul>`);
    } else if (line.trim().startsWith('|')) {
      const rows = [];
      for (; i < lines.length && lines[i].trim().startsWith('|'); i++) rows.push(lines[i]);
      const cells = (r) => r.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
      const body = rows.filter((r) => !/^\s*\|?\s*:?-{2,}/.test(r));
      const [head, ...rest] = body;
      out.push(
        `<table class="metric-table"><thead><tr>${cells(head).map((c) => `<th>${inline(c)}</th>`).join('')}</tr></thead><tbody>${rest
          .map((r) => `<tr>${cells(r).map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`)
          .join('')}</tbody></table>`,
      );
    } else if (line.trim() === '') i++;
    else {
      const para = [];
      for (; i < lines.length && lines[i].trim() !== '' && !/^(#|```|\s*[-*]\s|\s*\|)/.test(lines[i]); i++) para.push(lines[i]);
      out.push(`<p>${inline(para.join(' '))}</p>`);
    }
  }
  return out.join('\n');
}

/** A two-column table of metrics, with the reference values beside them when given. */
export function metricsTable(metrics, reference) {
  const names = Object.keys(metrics || {});
  if (!names.length) return '<p class="muted">No metrics recorded.</p>';
  const fmt = (v) => (typeof v === 'number' ? (Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3)) : escapeHtml(JSON.stringify(v)));
  return `<table class="metric-table"><thead><tr><th>Metric</th><th>Value</th>${reference ? '<th>Training data</th>' : ''}</tr></thead><tbody>${names
    .map(
      (n) =>
        `<tr><td>${escapeHtml(METRIC_NAMES[n] || n)}</td><td>${fmt(metrics[n])}</td>${
          reference ? `<td>${reference[n] == null ? '–' : fmt(reference[n])}</td>` : ''
        }</tr>`,
    )
    .join('')}</tbody></table>`;
}

/** Plain-language names of the metrics in DESIGN.md. */
export const METRIC_NAMES = {
  EB: 'Empty bars (EB)',
  UPC: 'Pitch classes per bar (UPC)',
  PR: 'Polyphony (PR)',
  QN: 'Qualified notes (QN)',
  DP: 'Drum pattern (DP)',
  in_scale: 'In scale',
  TD: 'Tonal distance to melody (TD)',
  melody_preserved: 'Melody preserved',
};
