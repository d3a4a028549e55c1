/**
 * A provider's API key pool (issue 21): requests spread over the keys round robin; a key the
 * provider answered 429 (or whose quota headers say nothing is left) rests for the time the
 * provider says; a key answered 401/403 is taken out while another key remains. Routing reads
 * `usableAt`: when every key rests, the target is out of rotation as a breaker-open one is.
 *
 * The state (rest-until, removal, counters) is per key id, so a reloaded config's pool takes it
 * over with `carryKeyState` and a key kept across a reload keeps resting.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { hashSecret } from '../../lib/hash.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { Secret } from '../../lib/secret.js';
import type { KeySnapshot, ProviderKeys } from '../types.js';
import { readQuota, retryAfterMs, type QuotaDimension } from './quota.js';

/** How long a key whose quota headers say 0 left, without saying when it refills, rests. */
export const QUOTA_REST_MS = 1_000;
/** How long a key answered 429 without any time rests, when its pool has other keys (a lone key is left to the router's retries). */
export const UNTIMED_429_REST_MS = 1_000;

/** Something a key pool reports: a key taken out (logged at error level), a key starting a rest. */
export interface KeyEvent {
  readonly kind: 'removed' | 'rested';
  readonly provider: string;
  /** The key's short id, never the key. */
  readonly key: string;
  /** The upstream status that caused it (0 for quota headers on a successful answer). */
  readonly status: number;
  /** For a rest: how long, in ms. */
  readonly ms: number;
}

/** What a pool needs from the gateway: its clock and where to report key events. */
export interface KeyPoolServices {
  readonly clock: Clock;
  readonly onKeyEvent: (event: KeyEvent) => void;
}

export const defaultKeyPoolServices: KeyPoolServices = { clock: systemClock, onKeyEvent: () => {} };

/** The short id of a key: the first 8 hex digits of its SHA-256 (never the key); "none" for a keyless provider. */
export function keyId(secret: Secret | null): string {
  return secret === null ? 'none' : hashSecret(secret.reveal()).slice(0, 8);
}

/** One key of a pool and its state. */
export class PoolKey {
  readonly index: number;
  readonly id: string;
  readonly secret: Secret | null;
  /** Monotonic ms before which the key is not used. */
  restUntil = 0;
  removed = false;
  /** Tokens left as the last answer said, and until when (monotonic ms) that holds. */
  tokensLeft = Infinity;
  tokensUntil = 0;
  sent = 0;
  rests = 0;

  constructor(index: number, secret: Secret | null) {
    this.index = index;
    this.id = keyId(secret);
    this.secret = secret;
  }
}

/** What the caller does after an answer: keep it, or send the request again on `pick()`'s key. */
export type KeyVerdict = 'done' | 'retry';

export class KeyPool implements ProviderKeys {
  readonly provider: string;
  readonly keys: readonly PoolKey[];
  /** Monotonic ms from which at least one key can be used (≤ now: one can). */
  usableAt = 0;
  readonly #clock: Clock;
  readonly #onEvent: (event: KeyEvent) => void;
  #next = 0;
  #active: number;
  // Scratch for reading quota headers: filled in place, so an answer allocates nothing.
  readonly #requests: QuotaDimension = { remaining: 0, resetMs: null };
  readonly #tokens: QuotaDimension = { remaining: 0, resetMs: null };

  /** `secrets` empty: a keyless provider (one pseudo-key, id "none", so quota headers still count). */
  constructor(provider: string, secrets: readonly Secret[], services: KeyPoolServices = defaultKeyPoolServices) {
    this.provider = provider;
    this.keys = secrets.length === 0 ? [new PoolKey(0, null)] : secrets.map((s, i) => new PoolKey(i, s));
    this.#active = this.keys.length;
    this.#clock = services.clock;
    this.#onEvent = services.onKeyEvent;
  }

  /**
   * The key for the next call: round robin over keys neither removed nor resting, skipping one
   * whose remaining tokens are below the call's estimate while another has room. When every key
   * rests, the one back soonest (the router keeps a target whose keys all rest out of rotation,
   * so this is a call admitted just before).
   */
  pick(estimatedTokens = 0): PoolKey {
    const keys = this.keys;
    const n = keys.length;
    if (n === 1) return this.#took(keys[0]!);
    const now = this.#clock.monotonic();
    let short: PoolKey | null = null;
    for (let i = 0; i < n; i++) {
      const key = keys[(this.#next + i) % n]!;
      if (key.removed || key.restUntil > now) continue;
      if (key.tokensLeft < estimatedTokens && key.tokensUntil > now) {
        short ??= key;
        continue;
      }
      this.#next = (key.index + 1) % n;
      return this.#took(key);
    }
    if (short !== null) return this.#took(short);
    let soonest: PoolKey | null = null;
    for (const key of keys) if (!key.removed && (soonest === null || key.restUntil < soonest.restUntil)) soonest = key;
    return this.#took(soonest!);
  }

  #took(key: PoolKey): PoolKey {
    key.sent++;
    return key;
  }

  /**
   * Every upstream answer on `key` passes here: its quota headers are read, a 429 rests the key,
   * a 401/403 takes it out (unless it is the last one in). 'retry' when the answer was the
   * key's fault and another key can take the call now.
   */
  answered(key: PoolKey, status: number, headers: IncomingHttpHeaders): KeyVerdict {
    const now = this.#clock.monotonic();
    this.#readQuota(key, headers, now, status);
    if (status < 400) return 'done';
    if (status === 429) {
      const wait = retryAfterMs(headers, this.#clock.now());
      if (wait !== null) this.#rest(key, wait, now, status);
      else if (key.restUntil <= now && this.keys.length > 1) this.#rest(key, UNTIMED_429_REST_MS, now, status);
      return this.#otherUsable(key, now) ? 'retry' : 'done';
    }
    if ((status === 401 || status === 403) && !key.removed && this.#active > 1) {
      key.removed = true;
      this.#active--;
      this.#recompute();
      this.#onEvent({ kind: 'removed', provider: this.provider, key: key.id, status, ms: 0 });
      return this.#otherUsable(key, now) ? 'retry' : 'done';
    }
    return 'done';
  }

  #readQuota(key: PoolKey, headers: IncomingHttpHeaders, now: number, status: number): void {
    const seen = readQuota(headers, this.#clock.now(), this.#requests, this.#tokens);
    if (seen === null) return;
    if (seen.requests && this.#requests.remaining <= 0) this.#rest(key, this.#requests.resetMs ?? QUOTA_REST_MS, now, status);
    if (seen.tokens) {
      const t = this.#tokens;
      key.tokensLeft = t.remaining;
      key.tokensUntil = now + (t.resetMs ?? QUOTA_REST_MS);
      if (t.remaining <= 0) this.#rest(key, t.resetMs ?? QUOTA_REST_MS, now, status);
    }
  }

  #rest(key: PoolKey, ms: number, now: number, status: number): void {
    if (ms <= 0) return;
    const until = now + ms;
    if (until <= key.restUntil) return;
    if (key.restUntil <= now) key.rests++;
    key.restUntil = until;
    this.#recompute();
    this.#onEvent({ kind: 'rested', provider: this.provider, key: key.id, status, ms });
  }

  #otherUsable(key: PoolKey, now: number): boolean {
    for (const k of this.keys) if (k !== key && !k.removed && k.restUntil <= now) return true;
    return false;
  }

  /** usableAt = the earliest rest-until among keys still in. */
  #recompute(): void {
    let at = Infinity;
    for (const k of this.keys) if (!k.removed && k.restUntil < at) at = k.restUntil;
    this.usableAt = at === Infinity ? 0 : at;
  }

  /** The state of each key, for metrics (`sluice_provider_key_*`) and the admin API. */
  snapshot(): KeySnapshot[] {
    const now = this.#clock.monotonic();
    return this.keys.map((k) => ({ provider: this.provider, key: k.id, state: k.removed ? 'removed' : k.restUntil > now ? 'resting' : 'serving', sent: k.sent, rests: k.rests, restingMs: Math.max(0, k.restUntil - now) }));
  }

  /** Takes over the state of the keys `previous` also has (same id): see `carryKeyState`. */
  carryFrom(previous: ProviderKeys): void {
    if (!(previous instanceof KeyPool)) return;
    const byId = new Map(previous.keys.map((k) => [k.id, k]));
    for (const key of this.keys) {
      const old = byId.get(key.id);
      if (old === undefined) continue;
      key.restUntil = old.restUntil;
      key.tokensLeft = old.tokensLeft;
      key.tokensUntil = old.tokensUntil;
      key.sent = old.sent;
      key.rests = old.rests;
      // A revoked key stays out, unless it is the last one in (then the provider's 401 reaches the client).
      if (old.removed && this.#active > 1) {
        key.removed = true;
        this.#active--;
      }
    }
    this.#recompute();
  }
}

/**
 * Carries key state from one config version's pool to the next (hot reload, issue 20): a key
 * present in both (by id) keeps its rest, its removal and its counters; a new key starts
 * fresh; a key gone from the config is dropped. Both are a provider adapter's `keys`.
 */
export function carryKeyState(from: ProviderKeys | undefined, to: ProviderKeys | undefined): void {
  if (from !== undefined && to !== undefined) to.carryFrom(from);
}
