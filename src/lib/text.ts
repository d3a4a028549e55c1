/**
 * Checks on client text that must hold before the text goes anywhere else: JSON nesting depth
 * (bounded before any code walks a body), and characters PostgreSQL cannot store (issue 15).
 * Everything here is iterative: client data never drives recursion.
 */

/** How deep a model request's JSON may nest. Real requests (tool schemas included) stay far below. */
export const MAX_JSON_DEPTH = 64;

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

/**
 * Whether a parsed JSON value nests arrays/objects deeper than `max`. Walked with an explicit
 * stack that holds only arrays and objects (strings and numbers are never pushed), so its cost
 * follows the body's structure, not its text: a few microseconds for a chat request.
 */
export function valueTooDeep(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i];
        if (typeof child === 'object' && child !== null) {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in node) {
        const child: unknown = (node as Record<string, unknown>)[key];
        if (typeof child === 'object' && child !== null) {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}
