const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * A top-level object member of a JSON object text, read without parsing the whole text: the
 * last `"name": {…}` is located with lastIndexOf, its object is parsed alone, and what follows
 * it must close the outermost object. OpenAI-compatible APIs put `usage` last, so the gateway
 * reads it from a few hundred bytes at the end instead of parsing every answer in full (the
 * parse was ~3% of the gateway's CPU per request; issue #7).
 *
 * Returns undefined whenever it cannot tell cheaply — the text does not look like one object,
 * the member is missing or not an object, or another key or string could be in the way — and
 * the caller then parses the text in full. It checks the text's outline (an object from the
 * first to the last character), not every byte of it.
 */
export function topLevelMember(text: string, name: string): Record<string, unknown> | undefined {
  let first = 0;
  while (first < text.length && isSpace(text.charCodeAt(first))) first++;
  let last = text.length - 1;
  while (last > first && isSpace(text.charCodeAt(last))) last--;
  if (text.charCodeAt(first) !== OPEN_BRACE || text.charCodeAt(last) !== CLOSE_BRACE) return undefined;

  const key = text.lastIndexOf(`"${name}"`, last);
  if (key <= first) return undefined;
  // A key starts after `{` or `,`; a quote preceded by a backslash is inside a string.
  let before = key - 1;
  while (isSpace(text.charCodeAt(before))) before--;
  const prev = text.charCodeAt(before);
  if (prev !== OPEN_BRACE && prev !== COMMA) return undefined;

  let i = key + name.length + 2;
  while (i < last && isSpace(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) !== COLON) return undefined;
  i++;
  while (i < last && isSpace(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  const end = matchingBrace(text, i, last);
  // What follows the member must close exactly the object holding it, at the text's end.
  if (end === -1 || !closesParentAt(text, end + 1, last)) return undefined;
  try {
    const value: unknown = JSON.parse(text.slice(i, end + 1));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Walks from `from`, skipping strings, to the bracket that closes the nesting the walk started
 * in; returns its index when it is a `}`, else -1.
 */
function walk(text: string, from: number, limit: number): number {
  let level = 0;
  let inString = false;
  for (let i = from; i <= limit; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) level++;
    else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --level < 0) return c === CLOSE_BRACE ? i : -1;
  }
  return -1;
}

/** The index of the `}` closing the object that opens at `open`, or -1. */
function matchingBrace(text: string, open: number, limit: number): number {
  return walk(text, open + 1, limit);
}

/** Whether the text from `from` closes the enclosing object exactly at `last` (its final character). */
function closesParentAt(text: string, from: number, last: number): boolean {
  return walk(text, from, last) === last;
}
