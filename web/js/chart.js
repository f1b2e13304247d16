// A small line chart on a canvas for training curves: several series against the training step,
// optional horizontal reference lines (the training data's own metric values), a legend, and an
// accessible text summary of the latest values.

export class LineChart {
  constructor(host, { title, yLabel = '' }) {
    this.title = title;
    this.yLabel = yLabel;
    this.series = new Map(); // name → {colour, points: [[x, y]]}
    this.refs = new Map(); // name → {colour, y}
    this.figure = document.createElement('figure');
    this.figure.className = 'chart';
    const caption = document.createElement('figcaption');
    caption.textContent = title;
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    this.legend = document.createElement('div');
    this.legend.className = 'chart-legend';
    this.figure.append(caption, this.canvas, this.legend);
    host.append(this.figure);
    new ResizeObserver(() => this.draw()).observe(this.figure);
  }

  add(name, colour, x, y) {
    if (!Number.isFinite(y)) return;
    if (!this.series.has(name)) this.series.set(name, { colour, points: [] });
    const s = this.series.get(name);
    const last = s.points[s.points.length - 1];
    if (last && last[0] === x) last[1] = y;
    else s.points.push([x, y]);
    this.#scheduleDraw();
  }

  reference(name, colour, y) {
    if (!Number.isFinite(y)) return;
    this.refs.set(name, { colour, y });
    this.#scheduleDraw();
  }

  clear() {
    this.series.clear();
    this.refs.clear();
    this.draw();
  }

  get pointCount() {
    let n = 0;
    for (const s of this.series.values()) n += s.points.length;
    return n;
  }

  #scheduleDraw() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.draw();
    });
  }

  draw() {
    const width = Math.max(200, this.figure.clientWidth);
    const height = 180;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    const g = this.canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    const css = getComputedStyle(document.documentElement);
    const text = css.getPropertyValue('--muted-text').trim() || '#9aa0aa';
    g.fillStyle = css.getPropertyValue('--roll-bg').trim() || '#16181d';
    g.fillRect(0, 0, width, height);
    const pad = { l: 48, r: 12, t: 10, b: 24 };
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (const s of this.series.values())
      for (const [x, y] of s.points) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    for (const r of this.refs.values()) {
      y0 = Math.min(y0, r.y);
      y1 = Math.max(y1, r.y);
    }
    this.canvas.dataset.points = String(this.pointCount);
    if (!Number.isFinite(y0)) {
      g.fillStyle = text;
      g.font = '13px system-ui, sans-serif';
      g.fillText('Waiting for the first training steps…', pad.l, height / 2);
      this.canvas.setAttribute('aria-label', `${this.title}: no data yet`);
      this.legend.textContent = '';
      return;
    }
    if (x0 === x1) x1 = x0 + 1;
    if (y0 === y1) {
      y0 -= 0.5;
      y1 += 0.5;
    }
    const span = y1 - y0;
    y0 -= span * 0.08;
    y1 += span * 0.08;
    const px = (x) => pad.l + ((x - x0) / (x1 - x0)) * (width - pad.l - pad.r);
    const py = (y) => pad.t + (1 - (y - y0) / (y1 - y0)) * (height - pad.t - pad.b);
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = text;
    g.strokeStyle = 'rgba(255,255,255,0.08)';
    for (let i = 0; i <= 4; i++) {
      const y = y0 + ((y1 - y0) * i) / 4;
      g.beginPath();
      g.moveTo(pad.l, py(y));
      g.lineTo(width - pad.r, py(y));
      g.stroke();
      g.fillText(formatNumber(y), 4, py(y) + 4);
    }
    g.fillText(`step ${Math.round(x0)}`, pad.l, height - 6);
    const endLabel = `step ${Math.round(x1)}`;
    g.fillText(endLabel, width - pad.r - g.measureText(endLabel).width, height - 6);
    for (const r of this.refs.values()) {
      g.setLineDash([5, 4]);
      g.strokeStyle = r.colour;
      g.lineWidth = 1.5;
      g.beginPath();
      g.moveTo(pad.l, py(r.y));
      g.lineTo(width - pad.r, py(r.y));
      g.stroke();
      g.setLineDash([]);
    }
    for (const s of this.series.values()) {
      g.strokeStyle = s.colour;
      g.fillStyle = s.colour;
      g.lineWidth = 2;
      g.beginPath();
      s.points.forEach(([x, y], i) => (i ? g.lineTo(px(x), py(y)) : g.moveTo(px(x), py(y))));
      g.stroke();
      if (s.points.length === 1) {
        g.beginPath();
        g.arc(px(s.points[0][0]), py(s.points[0][1]), 3, 0, Math.PI * 2);
        g.fill();
      }
    }
    const parts = [];
    this.legend.textContent = '';
    for (const [name, s] of this.series) {
      const last = s.points[s.points.length - 1];
      parts.push(`${name} ${formatNumber(last[1])} at step ${last[0]}`);
      this.legend.append(legendItem(s.colour, `${name}: ${formatNumber(last[1])}`, false));
    }
    for (const [name, r] of this.refs) {
      parts.push(`${name} ${formatNumber(r.y)}`);
      this.legend.append(legendItem(r.colour, `${name}: ${formatNumber(r.y)}`, true));
    }
    this.canvas.setAttribute('aria-label', `${this.title}: ${parts.join('; ')}`);
  }
}

function legendItem(colour, label, dashed) {
  const item = document.createElement('span');
  item.className = `legend-item${dashed ? ' dashed' : ''}`;
  item.style.setProperty('--swatch', colour);
  item.textContent = label;
  return item;
}

export function formatNumber(v) {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}
