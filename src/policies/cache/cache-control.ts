/** `Cache-Control` directives, lower-cased, with their values ("" when none). */
export function cacheControl(v: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (v === undefined) return out;
  for (const part of (Array.isArray(v) ? v.join(',') : v).split(',')) {
    const [k, val] = part.trim().split('=', 2);
    if (k !== undefined && k !== '') out.set(k.toLowerCase(), (val ?? '').replace(/^"|"$/g, ''));
  }
  return out;
}
