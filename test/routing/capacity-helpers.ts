import { FakeClock } from '../../src/lib/clock.js';
import { CapacityGate, type CapacityOptions } from '../../src/routing/capacity.js';

/** Lets promise callbacks run. */
export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const never = new AbortController().signal;

export interface Tracked {
  readonly state: () => 'pending' | 'admitted' | 'rejected';
  readonly error: () => unknown;
}

/** Starts an acquire and records how it settles, and in which order (into `log`). */
export function track(gate: CapacityGate, name: string, log: string[], args: { tokens?: number; priority?: number; deadlineMs?: number; signal?: AbortSignal } = {}): Tracked {
  let state: 'pending' | 'admitted' | 'rejected' = 'pending';
  let error: unknown;
  gate.acquire(args.tokens ?? 0, args.priority ?? 0, args.deadlineMs ?? Number.POSITIVE_INFINITY, args.signal ?? never).then(
    () => {
      state = 'admitted';
      log.push(name);
    },
    (err: unknown) => {
      state = 'rejected';
      error = err;
    },
  );
  return { state: () => state, error: () => error };
}

export function setup(options: Partial<CapacityOptions> = {}): { clock: FakeClock; gate: CapacityGate; log: string[] } {
  const clock = new FakeClock(0);
  return { clock, gate: new CapacityGate({ maxConcurrent: 1, maxQueue: 10, ...options }, clock), log: [] };
}

