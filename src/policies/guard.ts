import type { FastifyRequest } from 'fastify';
import type { Limits } from '../config/compile.js';
import type { StateStore } from '../stores/types.js';
import { consumeAll } from './admit/admit.js';
import { rulesFor } from './admit/rules.js';
import type { Identifier } from './identify/identifier.js';
import type { Principal } from './identify/principal.js';

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

  async check(request: FastifyRequest): Promise<Principal> {
    if (this.#ipLimits !== null) {
      const rules = rulesFor('ip', request.ip, this.#ipLimits);
      await consumeAll(this.#store, rules, rules.map(() => 1), this.#onReject);
    }
    return this.#identifier.identify(request.headers);
  }
}
