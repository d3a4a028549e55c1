import type { RequestContext } from '../pipeline/context.js';
import type { HealthTransition } from '../routing/health.js';
import type { TargetBreakerEvent } from '../routing/route-runtime.js';
import type { RejectionEvent } from '../policies/admit/admit.js';
import type { BudgetAlert } from '../policies/admit/settlement.js';
import type { HttpContext } from '../http/context.js';
import type { InstanceTransition } from '../http/instance.js';

/** Events the gateway publishes; metrics, logs and (later) usage accounting subscribe. */
export interface GatewayEvents {
  /** A request finished: answered, failed, or abandoned by its client. */
  'request:end': RequestContext;
  /** A target's circuit breaker changed state. */
  'breaker:transition': TargetBreakerEvent;
  /** A provider's active health check changed its verdict. */
  'health:transition': HealthTransition;
  /** A request was refused by a limit or budget. */
  'limit:rejected': RejectionEvent;
  /** A budget crossed its alert share. */
  'budget:alert': BudgetAlert;
  /** A request to an HTTP service finished. */
  'http:end': HttpContext;
  /** An HTTP service's instance left or rejoined the rotation. */
  'http:instance': InstanceTransition;
}

type Listener<T> = (payload: T) => void;

/**
 * A small typed event bus, one per gateway instance so several instances in one process
 * (tests) do not mix their numbers. A throwing listener is reported, never propagated into
 * the request path.
 */
export class EventBus {
  readonly #listeners: { [K in keyof GatewayEvents]: Listener<GatewayEvents[K]>[] } = { 'request:end': [], 'breaker:transition': [], 'health:transition': [], 'limit:rejected': [], 'budget:alert': [], 'http:end': [], 'http:instance': [] };
  readonly #onListenerError: (err: unknown) => void;

  constructor(onListenerError: (err: unknown) => void = () => {}) {
    this.#onListenerError = onListenerError;
  }

  on<K extends keyof GatewayEvents>(event: K, listener: Listener<GatewayEvents[K]>): void {
    this.#listeners[event].push(listener);
  }

  emit<K extends keyof GatewayEvents>(event: K, payload: GatewayEvents[K]): void {
    for (const listener of this.#listeners[event]) {
      try {
        listener(payload);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }
}
