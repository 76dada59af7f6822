// A small live line chart drawn on <canvas>: several series over a sliding window of samples.

const GRID = '#e3e7eb';
const AXIS_TEXT = '#5f6b77';

export class LineChart {
  /**
   * canvas: the <canvas> element; series: [{ label, color }]; capacity: samples kept.
   * format: value → axis label text; integer: the values are counts (axis steps of 1 or more).
   */
  constructor(canvas, series, { capacity = 60, format = (v) => String(Math.round(v)), integer = false } = {}) {
    this.canvas = canvas;
    this.series = series.map((s) => ({ ...s, values: [] }));
    this.capacity = capacity;
    this.format = format;
    this.integer = integer;
    this.onResize = () => this.draw();
    window.addEventListener('resize', this.onResize);
    this.draw();
  }

  /** Appends one sample per series (same order as the constructor's series). */
  push(values) {
    this.series.forEach((s, i) => {
      s.values.push(Number(values[i]) || 0);
      if (s.values.length > this.capacity) s.values.shift();
    });
    this.draw();
  }

  destroy() {
    window.removeEventListener('resize', this.onResize);
  }

  draw() {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 300;
    const height = canvas.clientHeight || 150;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const left = 52;
    const right = 8;
    const top = 8;
    const bottom = 18;
    const plotW = Math.max(10, width - left - right);
    const plotH = Math.max(10, height - top - bottom);
    const peak = Math.max(...this.series.flatMap((s) => s.values), 0);
    const max = 4 * niceStep(peak / 4, this.integer);

    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = AXIS_TEXT;
    ctx.strokeStyle = GRID;
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let i = 0; i <= 4; i += 1) {
      const y = top + plotH - (plotH * i) / 4;
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y) + 0.5);
      ctx.lineTo(left + plotW, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.fillText(this.format((max * i) / 4), left - 6, y);
    }
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    ctx.fillText('older', left, height - 4);
    ctx.textAlign = 'right';
    ctx.fillText('now', left + plotW, height - 4);

    const step = plotW / Math.max(1, this.capacity - 1);
    this.series.forEach((s) => {
      if (!s.values.length) return;
      const offset = this.capacity - s.values.length;
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      s.values.forEach((v, i) => {
        const x = left + (offset + i) * step;
        const y = top + plotH - (plotH * v) / max;
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      if (s.values.length === 1) ctx.arc(left + offset * step, top + plotH - (plotH * s.values[0]) / max, 2, 0, 2 * Math.PI);
      ctx.stroke();
    });
  }
}

/** The smallest 1, 2, 2.5 or 5 × 10^n at or above `v` (for counts: 1, 2, 5 × 10^n, at least 1). */
function niceStep(v, integer) {
  if (!(v > 0)) return integer ? 1 : 0.25;
  if (integer && v <= 1) return 1;
  const exp = 10 ** Math.floor(Math.log10(v));
  for (const m of integer && exp < 10 ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10]) {
    if (m * exp >= v) return m * exp;
  }
  return 10 * exp;
}
