/** Fault and pacing knobs of the mock provider, shared by the in-process and standalone mock. */
export interface MockOptions {
  /** Delay before the first byte of every answer, in milliseconds. */
  readonly latencyMs: number;
  /** Streaming pace; 0 sends every chunk at once. */
  readonly tokensPerSecond: number;
  /** When set, every request is answered with this HTTP status and an OpenAI-shaped error. */
  readonly status: number | null;
  /** Fraction (0..1) of requests answered with a 500, drawn from a PRNG seeded by `seed`. */
  readonly failRate: number;
  /** When set, a stream is cut abruptly after this many chunks (no `[DONE]`). */
  readonly dropAfterChunks: number | null;
  /** Seconds sent in `Retry-After` with 429 answers. */
  readonly retryAfter: number | null;
  /** Seed of the failRate PRNG, so a fault sequence is reproducible. */
  readonly seed: number;
}

export const defaultMockOptions: MockOptions = Object.freeze({
  latencyMs: 0,
  tokensPerSecond: 0,
  status: null,
  failRate: 0,
  dropAfterChunks: null,
  retryAfter: null,
  seed: 1,
});
