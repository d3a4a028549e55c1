import diagnostics from 'node:diagnostics_channel';
import type { CompiledTarget } from '../config/compile.js';
import type { SluiceError } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';

/** One call to one upstream target, as published on `upstreamAttempts`. */
export interface UpstreamAttempt {
  readonly ctx: RequestContext;
  readonly target: CompiledTarget;
  /** Monotonic milliseconds: sent, and answered (headers; the first chunk of a stream) or failed. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** Why the attempt failed; null when it answered. */
  readonly error: SluiceError | null;
}

/**
 * Upstream attempts for whoever listens (tracing). A diagnostics channel rather than the
 * gateway's event bus: dispatch holds no bus, and with no subscriber publishing is skipped
 * at the cost of one property read.
 */
export const upstreamAttempts = diagnostics.channel('sluice:upstream-attempt');
