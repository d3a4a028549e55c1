import type { Budget, Limits } from '../config/compile.js';

/** Who a request is for, as established by the identify stage. */
export interface Principal {
  /** Stable id: `key:<id>`, `jwt:<subject>` or `anonymous`. */
  readonly id: string;
  readonly kind: 'key' | 'jwt' | 'anonymous';
  readonly keyId: string | null;
  readonly keyName: string | null;
  readonly user: string | null;
  readonly tier: string;
  /** Model globs the principal may use; null = any. */
  readonly models: readonly string[] | null;
  /** Per-key overrides of the tier's limits and budget. */
  readonly limits: Limits | null;
  readonly budget: Budget | null;
}

export const ANONYMOUS: Principal = Object.freeze({
  id: 'anonymous',
  kind: 'anonymous',
  keyId: null,
  keyName: null,
  user: null,
  tier: 'default',
  models: null,
  limits: null,
  budget: null,
});
