/** No header: no directives (one shared, read-only map). */
const NONE: ReadonlyMap<string, string> = new Map();

/** `Cache-Control` directives, lower-cased, with their values ("" when none). */
export function cacheControl(v: string | string[] | undefined): ReadonlyMap<string, string> {
  if (v === undefined) return NONE;
  const out = new Map<string, string>();
  for (const part of (Array.isArray(v) ? v.join(',') : v).split(',')) {
    const [k, val] = part.trim().split('=', 2);
    if (k !== undefined && k !== '') out.set(k.toLowerCase(), (val ?? '').replace(/^"|"$/g, ''));
  }
  return out;
}
