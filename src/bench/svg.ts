/**
 * A minimal SVG line chart for the HTML report: no scripts, no external resources, so the page
 * opens offline and can be attached to a CI run as it is.
 */

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
}

export interface Tick {
  value: number;
  label: string;
}

export interface ChartSpec {
  title: string;
  series: Series[];
  xTicks: Tick[];
  xLabel: string;
  yLabel: string;
  /** Log scale on y (latencies spread over orders of magnitude). */
  yLog?: boolean;
  width?: number;
  height?: number;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const PAD = { left: 64, right: 16, top: 28, bottom: 44 };

export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 860;
  const height = spec.height ?? 300;
  const pts = spec.series.flatMap((s) => s.points);
  if (pts.length === 0) return `<p class="empty">${escapeHtml(spec.title)}: no data</p>`;
  const xs = pts.map((p) => p[0]).concat(spec.xTicks.map((t) => t.value));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs) === xMin ? xMin + 1 : Math.max(...xs);
  const ys = pts.map((p) => p[1]);
  const log = spec.yLog === true;
  const floor = log ? Math.max(0.001, Math.min(...ys.filter((y) => y > 0), 1)) : 0;
  const yLo = log ? 10 ** Math.floor(Math.log10(floor)) : 0;
  const yTop = Math.max(...ys, log ? yLo * 10 : 1);
  const yHi = log ? 10 ** Math.ceil(Math.log10(yTop)) : niceCeil(yTop);
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const sx = (x: number): number => PAD.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const ty = (y: number): number => (log ? Math.log10(Math.max(y, yLo)) : y);
  const sy = (y: number): number => PAD.top + plotH - ((ty(y) - ty(yLo)) / (ty(yHi) - ty(yLo))) * plotH;

  const yTicks: Tick[] = [];
  if (log) for (let v = yLo; v <= yHi * 1.0001; v *= 10) yTicks.push({ value: v, label: trimNum(v) });
  else for (let i = 0; i <= 4; i++) yTicks.push({ value: (yHi * i) / 4, label: trimNum((yHi * i) / 4) });

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(spec.title)}">`);
  parts.push(`<text x="${PAD.left}" y="18" class="t">${escapeHtml(spec.title)}</text>`);
  for (const t of yTicks) {
    const y = sy(t.value).toFixed(1);
    parts.push(`<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${y}" y2="${y}" class="g"/><text x="${PAD.left - 6}" y="${y}" class="yl">${escapeHtml(t.label)}</text>`);
  }
  for (const t of spec.xTicks) {
    const x = sx(t.value).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${PAD.top}" y2="${PAD.top + plotH}" class="g"/><text x="${x}" y="${PAD.top + plotH + 16}" class="xl">${escapeHtml(t.label)}</text>`);
  }
  parts.push(`<text x="${PAD.left + plotW / 2}" y="${height - 6}" class="xl">${escapeHtml(spec.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${PAD.top + plotH / 2}) rotate(-90)" class="xl">${escapeHtml(spec.yLabel)}</text>`);
  let legendX = PAD.left + 8;
  for (const s of spec.series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)} ${sy(p[1]).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dashed === true ? ' stroke-dasharray="4 3"' : ''}/>`);
    parts.push(`<rect x="${legendX}" y="${PAD.top + 4}" width="10" height="10" fill="${s.color}"/><text x="${legendX + 14}" y="${PAD.top + 13}" class="lg">${escapeHtml(s.name)}</text>`);
    legendX += 24 + s.name.length * 7;
  }
  parts.push('</svg>');
  return parts.join('');
}

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function trimNum(v: number): string {
  if (v >= 1000) return v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return String(Math.round(v * 1000) / 1000);
}

/** Evenly spaced ticks from 0 to max (seconds on a time axis). */
export function timeTicks(maxSeconds: number): Tick[] {
  const step = niceCeil(Math.max(maxSeconds, 1) / 6);
  const out: Tick[] = [];
  for (let v = 0; v <= maxSeconds + 1e-9; v += step) out.push({ value: v, label: `${trimNum(v)}s` });
  return out;
}
