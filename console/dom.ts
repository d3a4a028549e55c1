/**
 * DOM building for the console: elements are made with createElement and text is set as
 * text, never parsed as HTML, so nothing the API returns can become markup or script.
 */
export type Child = Node | string | number | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Readonly<Record<string, string | boolean | undefined>> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    node.setAttribute(k, v === true ? '' : v);
  }
  append(node, children);
  return node;
}

export function append(node: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Readonly<Record<string, string | number>> = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  append(node, children);
  return node;
}

export function replace(node: Node, ...children: Child[]): void {
  while (node.firstChild !== null) node.removeChild(node.firstChild);
  append(node, children);
}

/** A table from a header and rows; cells that are numbers are right-aligned. */
export function table(head: readonly string[], rows: readonly (readonly Child[])[], attrs: Readonly<Record<string, string>> = {}): HTMLTableElement {
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === '—'));
  return el(
    'table',
    attrs,
    el('thead', {}, el('tr', {}, ...head.map((h, i) => el('th', { class: numeric[i] === true ? 'num' : undefined }, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c, i) => el('td', { class: numeric[i] === true ? 'num' : undefined }, c))))),
  );
}

export function stat(label: string, value: Child, id?: string): HTMLElement {
  return el('div', { class: 'stat' }, el('div', { class: 'label' }, label), el('div', { class: 'value', id }, value));
}

export function badge(text: string, tone: 'good' | 'bad' | 'warn' | 'none'): HTMLElement {
  return el('span', { class: tone === 'none' ? 'badge' : `badge ${tone}` }, text);
}

export function fmt(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function usd(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: n < 1 ? 6 : 2 })}`;
}
