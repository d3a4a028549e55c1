import type { IncomingHttpHeaders } from 'node:http';
import type { Limits } from '../config/compile.js';
import type { StateStore } from '../stores/types.js';
import { consumeAll } from './admit/admit.js';
import { rulesFor } from './admit/rules.js';
import type { Identifier } from './identify/identifier.js';
import type { Principal } from '../exchange/principal.js';

/**
 * What runs before a request is routed: the client IP's limits, then identification. IP
 * limits come first so guessing keys is throttled like any other traffic. They count
 * requests; token limits belong to principals and routes.
 */
export class Guard {
  readonly #ipLimits: Limits | null;
  readonly #store: StateStore;
  readonly #identifier: Identifier;
  readonly #onReject: (policy: string) => void;

  constructor(ipLimits: Limits | null, store: StateStore, identifier: Identifier, onReject: (policy: string) => void) {
    this.#ipLimits = ipLimits === null ? null : { ...ipLimits, tpm: null, tpd: null };
    this.#store = store;
    this.#identifier = identifier;
    this.#onReject = onReject;
  }

  /**
   * `scope` adds an HTTP service's own per-IP limits (counted per service) and its choice of
   * whether a credential is required.
   */
  async check(ip: string, headers: IncomingHttpHeaders, scope?: GuardScope): Promise<Principal> {
    if (this.#ipLimits !== null) await this.#limitIp('ip', ip, this.#ipLimits);
    if (scope !== undefined && scope.ipLimits !== null) await this.#limitIp(`ip:${scope.name}`, ip, scope.ipLimits);
    return this.#identifier.identify(headers, scope?.authRequired ?? undefined);
  }

  async #limitIp(kind: string, ip: string, limits: Limits): Promise<void> {
    const rules = rulesFor(kind, ip, limits);
    await consumeAll(this.#store, rules, rules.map(() => 1), this.#onReject);
  }
}

/** What an HTTP service adds to the guard: its per-IP limits and its auth requirement. */
export interface GuardScope {
  readonly name: string;
  /** Request limits only; token limits are ignored here as for the gateway-wide IP limits. */
  readonly ipLimits: Limits | null;
  /** null: the gateway's `auth.required` decides. */
  readonly authRequired: boolean | null;
}
