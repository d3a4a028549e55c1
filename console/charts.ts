import { el, svg } from './dom.js';

/** One line of a chart: its name and a value per x position (null: no data there). */
export interface Line {
  readonly name: string;
  readonly values: readonly (number | null)[];
}

const W = 600;
const H = 180;
const PAD = { left: 44, right: 8, top: 10, bottom: 20 };

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (max <= m * p) return m * p;
  return 10 * p;
}

function short(n: number): string {
  if (n >= 1_000_000) return `${Math.round(n / 100_000) / 10}M`;
  if (n >= 1_000) return `${Math.round(n / 100) / 10}k`;
  return String(Math.round(n * 100) / 100);
}

function frame(title: string, max: number, labels: readonly string[]): SVGSVGElement {
  const root = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  const plotH = H - PAD.top - PAD.bottom;
  for (let i = 0; i <= 4; i++) {
    const y = PAD.top + (plotH * i) / 4;
    root.appendChild(svg('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }));
    root.appendChild(svg('text', { x: PAD.left - 4, y: y + 3, 'text-anchor': 'end' }, short((max * (4 - i)) / 4)));
  }
  if (labels.length > 0) {
    root.appendChild(svg('text', { x: PAD.left, y: H - 4 }, labels[0]!));
    root.appendChild(svg('text', { x: W - PAD.right, y: H - 4, 'text-anchor': 'end' }, labels[labels.length - 1]!));
  }
  return root;
}

/** A line chart drawn as inline SVG, with a legend; lines break where a value is null. */
export function lineChart(title: string, lines: readonly Line[], labels: readonly string[]): HTMLElement {
  const all = lines.flatMap((l) => l.values.filter((v): v is number => v !== null));
  const max = niceMax(Math.max(0, ...all));
  const root = frame(title, max, labels);
  const n = Math.max(1, ...lines.map((l) => l.values.length));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  lines.forEach((line, s) => {
    let run: string[] = [];
    const flush = (): void => {
      if (run.length === 1) {
        const [x, y] = run[0]!.split(',');
        root.appendChild(svg('circle', { class: `s${s % 5}`, cx: x!, cy: y!, r: 2 }));
      } else if (run.length > 1) root.appendChild(svg('polyline', { class: `s${s % 5}`, points: run.join(' ') }));
      run = [];
    };
    line.values.forEach((v, i) => {
      if (v === null) return flush();
      const x = PAD.left + (n === 1 ? plotW / 2 : (plotW * i) / (n - 1));
      const y = PAD.top + plotH - (plotH * v) / max;
      run.push(`${x.toFixed(1)},${y.toFixed(1)}`);
    });
    flush();
  });
  return el('div', {}, el('div', { class: 'muted' }, title), root, legend(lines.map((l) => l.name)));
}

/** A bar chart of named values, as inline SVG. */
export function barChart(title: string, bars: readonly { readonly name: string; readonly value: number }[]): HTMLElement {
  const max = niceMax(Math.max(0, ...bars.map((b) => b.value)));
  const root = frame(title, max, []);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, bars.length);
  bars.forEach((b, i) => {
    const h = (plotH * b.value) / max;
    const x = PAD.left + i * slot + slot * 0.1;
    root.appendChild(svg('rect', { class: 'bar s0', x: x.toFixed(1), y: (PAD.top + plotH - h).toFixed(1), width: (slot * 0.8).toFixed(1), height: h.toFixed(1) }, svg('title', {}, `${b.name}: ${b.value}`)));
    if (bars.length <= 12) root.appendChild(svg('text', { x: (x + slot * 0.4).toFixed(1), y: H - 4, 'text-anchor': 'middle' }, b.name.length > 14 ? `${b.name.slice(0, 13)}…` : b.name));
  });
  return el('div', {}, el('div', { class: 'muted' }, title), root);
}

function legend(names: readonly string[]): HTMLElement {
  return el('div', { class: 'legend' }, ...names.map((n, i) => el('span', { class: `s${i % 5}` }, `■ ${n}`)));
}
