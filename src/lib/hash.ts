import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SHA-256 hex of a credential: keys are 256-bit random values, so a fast hash suffices. It runs
 * on every keyed request: the one-shot crypto.hash (Node >= 20.12) takes half the time of a
 * Hash object.
 */
export function hashSecret(value: string): string {
  return hash('sha256', value, 'hex');
}

/** Compares two hex digests in constant time. */
export function digestEquals(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/** A new virtual key: `sk-sluice-` and 43 characters of base64url (256 bits). */
export function generateKey(): string {
  return `sk-sluice-${randomBytes(32).toString('base64url')}`;
}

/** A key's scheme: one or two lowercase words with dashes (`sk-`, `sk-ant-`, `sk-sluice-`), not secret. */
const KEY_SCHEME = /^(?:[a-z]{1,6}-){1,2}/;

/**
 * What may be shown of a key: its scheme and 4 more characters, and never more than a third
 * of it. A generated key shows `sk-sluice-` and 4 of its 43 random characters; a 16-character
 * key from the config showed 14 of them before (issue 15), now at most 5.
 */
export function keyPrefix(key: string): string {
  const scheme = KEY_SCHEME.exec(key)?.[0].length ?? 0;
  return key.slice(0, Math.min(scheme + 4, Math.floor(key.length / 3)));
}

/** FNV-1a, 32 bits, with a final mix: a fast, well-spread hash for placing keys on a consistent-hash ring (not for secrets). */
export function fnv1a32(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // MurmurHash3's finaliser: FNV alone clusters keys that differ only in their last characters.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
