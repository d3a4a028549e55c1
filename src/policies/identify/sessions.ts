import { SluiceError } from '../../errors.js';
import { hashSecret } from '../../lib/hash.js';
import type { Clock } from '../../lib/clock.js';
import type { MarkStore } from '../../stores/types.js';
import { isStoreError } from '../../stores/errors.js';

/**
 * Session revocations for JWTs (issue 22, seeds 000 and 004): a revoked session, or every
 * session of a user ("sign out everywhere"), is refused at once on every instance sharing the
 * state store. Nothing is stored per session while it lives; a revocation is a mark (a time)
 * kept for `ttlMs`, which must outlast the longest-lived token. Session ids and users are
 * hashed into the store's keys (any text, any length, is a fixed-size key).
 */
export class SessionRevocations {
  readonly #store: MarkStore;
  readonly #clock: Clock;
  readonly #ttlMs: number;

  constructor(store: MarkStore, clock: Clock, ttlMs: number) {
    this.#store = store;
    this.#clock = clock;
    this.#ttlMs = ttlMs;
  }

  /** Refuses every token carrying this session id from now on. */
  revokeSession(session: string): Promise<void> {
    return this.#store.mark(sessionKey(session), this.#clock.now(), this.#ttlMs);
  }

  /**
   * Refuses every token of `user` issued up to now (its `iat`, at the second; a token issued
   * in the second of the revocation is refused too, so the auth service should issue the
   * user's new tokens after it). Tokens without `iat` are refused while the mark lives.
   */
  revokeUser(user: string): Promise<void> {
    return this.#store.mark(userKey(user), this.#clock.now(), this.#ttlMs);
  }

  /** Throws 401 when the token's session or its user's earlier sessions were revoked; 503 when the store cannot say (failure: closed). */
  async check(session: string | null, user: string, issuedAtSec: number | null): Promise<void> {
    let marks: (number | null)[];
    try {
      marks = await this.#store.marks(session === null ? [userKey(user)] : [userKey(user), sessionKey(session)]);
    } catch (err) {
      if (isStoreError(err)) throw new SluiceError('SLUICE_ERR_LIMITER_UNAVAILABLE', { message: 'Session revocations cannot be checked: the shared state store is unavailable.', cause: err });
      throw err;
    }
    const [userMark, sessionMark] = marks;
    if (sessionMark !== null && sessionMark !== undefined) throw revoked('its session was revoked');
    if (userMark !== null && userMark !== undefined && (issuedAtSec === null || issuedAtSec * 1000 <= userMark)) throw revoked("the user's sessions were revoked after it was issued");
  }
}

function revoked(why: string): SluiceError {
  return new SluiceError('SLUICE_ERR_UNAUTHORIZED', { message: `Invalid bearer token: ${why}.` });
}

function sessionKey(session: string): string {
  return `session:sid:${hashSecret(session).slice(0, 32)}`;
}

function userKey(user: string): string {
  return `session:user:${hashSecret(user).slice(0, 32)}`;
}
