/**
 * The JSON text each client body was parsed from, kept beside the parsed object (weakly), so
 * an adapter that sends a body on unchanged forwards the client's own text instead of
 * serialising the object again — for a long prompt, serialising is the larger part of the
 * gateway's per-request copying. A body that was changed on the way is a new object, so it
 * has no text here and is serialised.
 */
const texts = new WeakMap<object, string>();

export function rememberJsonText(value: unknown, text: string): void {
  if (typeof value === 'object' && value !== null) texts.set(value, text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}

/** The text `value` was parsed from when known, else JSON.stringify(value). */
export function jsonText(value: object): string {
  return texts.get(value) ?? JSON.stringify(value);
}
