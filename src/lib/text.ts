/**
 * Checks on client text that must hold before the text goes anywhere else: JSON nesting depth
 * (bounded before any code walks a body), and characters PostgreSQL cannot store (issue 15).
 * Everything here is iterative: client data never drives recursion.
 */

/** How deep a model request's JSON may nest. Real requests (tool schemas included) stay far below. */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether JSON text nests arrays/objects deeper than `max`, scanned on the text (one pass, no
 * parse): brackets inside strings are skipped. Malformed text is left to the parser to refuse.
 */
export function jsonTooDeep(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

/**
 * NUL, or a UTF-16 surrogate without its partner: text PostgreSQL refuses (`text` has no NUL,
 * and a lone surrogate has no UTF-8 form), so a request carrying it in a stored field would
 * be served and then lose its usage record.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function unstorable(s: string): boolean {
  return UNSTORABLE.test(s);
}

/**
 * The path (`a.b[2]`) of the first string, or object key, in `value` that PostgreSQL cannot
 * store, or null when there is none. Walks with an explicit stack.
 */
export function findUnstorable(value: unknown, root = ''): string | null {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (unstorable(v)) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        const p = path === '' ? k : `${path}.${k}`;
        if (unstorable(k)) return p;
        stack.push([child, p]);
      }
    }
  }
  return null;
}

/** Whether a parsed JSON value nests arrays/objects deeper than `max` (walked with an explicit stack). */
export function valueTooDeep(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return false;
}
