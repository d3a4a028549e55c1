/** No header: no directives (one shared, read-only map). */
const NONE: ReadonlyMap<string, string> = new Map();

/**
 * Parsed headers by their text: clients and instances send the same few values again and
 * again (`no-cache`, `max-age=60`), and parsing one was ~2.5 µs of a cached route's request
 * (issue #7). The maps handed out are shared, so they are read-only; the memo is dropped
 * whole when full, so a stream of distinct values costs no more than parsing each.
 */
const parsed = new Map<string, ReadonlyMap<string, string>>();
const MEMO_SIZE = 256;

/** `Cache-Control` directives, lower-cased, with their values ("" when none). */
export function cacheControl(v: string | string[] | undefined): ReadonlyMap<string, string> {
  if (v === undefined) return NONE;
  const text = Array.isArray(v) ? v.join(',') : v;
  let out = parsed.get(text);
  if (out === undefined) {
    out = parse(text);
    if (parsed.size >= MEMO_SIZE) parsed.clear();
    parsed.set(text, out);
  }
  return out;
}

function parse(text: string): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const [k, val] = part.trim().split('=', 2);
    if (k !== undefined && k !== '') out.set(k.toLowerCase(), (val ?? '').replace(/^"|"$/g, ''));
  }
  return out;
}
