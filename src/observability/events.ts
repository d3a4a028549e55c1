import type { RequestSummary, ServiceSummary } from '../exchange/summary.js';
import type { HealthTransition } from '../routing/health.js';
import type { TargetBreakerEvent } from '../routing/route-runtime.js';
import type { RejectionEvent } from '../policies/admit/admit.js';
import type { BudgetAlert } from '../exchange/results.js';
import type { InstanceTransition } from '../http/instance.js';

/**
 * Events the gateway publishes; metrics, logs, traces, usage accounting and limit settlement
 * subscribe. A finished request is published once, as a frozen summary, never as the live
 * request it came from.
 */
export interface GatewayEvents {
  /** A model request finished: answered, failed, or abandoned by its client. */
  'request:end': RequestSummary;
  /** A target's circuit breaker changed state. */
  'breaker:transition': TargetBreakerEvent;
  /** A provider's active health check changed its verdict. */
  'health:transition': HealthTransition;
  /** A request was refused by a limit or budget. */
  'limit:rejected': RejectionEvent;
  /** A budget crossed its alert share. */
  'budget:alert': BudgetAlert;
  /** A request to an HTTP service finished. */
  'http:end': ServiceSummary;
  /** An HTTP service's instance left or rejoined the rotation. */
  'http:instance': InstanceTransition;
}

type Listener<T> = (payload: T) => void;

/**
 * A small typed event bus, one per gateway instance so several instances in one process
 * (tests) do not mix their numbers. A throwing listener is reported, never propagated into
 * the request path.
 *
 * The gateway's one event mechanism (issue 17). Chosen over `diagnostics_channel` because
 * that is process-wide: several gateways in one process (tests, a reload's old and new
 * runtime) would each hear the others' requests and have to filter them, as tracing once did
 * with a WeakMap. The bus is per gateway, typed per event, and isolates a throwing listener;
 * publishing to no listener costs one array read.
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
