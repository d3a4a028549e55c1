import type { StreamResponse, Usage } from '../providers/types.js';
import { isSluiceError, toSluiceError } from '../errors.js';
import type { Redactor } from '../lib/redactor.js';
import { redactError } from '../upstream/errors.js';
import { verdictOf, type Verdict } from './outcome.js';

/** The attempt's hold on its target (target-state's Admission), released once with the tokens used. */
export interface AttemptHold {
  finish(verdict: Verdict, actualTokens?: number): void;
}

/** The request the stream answers: whether its client left (then a failure is neutral). */
export interface ClientState {
  readonly clientGone: boolean;
}

/**
 * Wraps a provider stream so its attempt is settled exactly once, when the stream ends:
 * success when it completed, the error's verdict when it failed, neutral when the client
 * left. `prime()` reads the first chunk ahead, so a stream that fails before sending
 * anything fails its attempt (and can be retried) before the client sees a byte. Its errors
 * (stream error events included) are scrubbed of credentials, as dispatch scrubs the others.
 */
export class TrackedStream implements StreamResponse {
  readonly kind = 'stream';
  readonly status: number;
  readonly chunks: AsyncIterable<string>;
  readonly native: StreamResponse['native'];
  readonly #inner: StreamResponse;
  readonly #iterator: AsyncIterator<string>;
  readonly #hold: AttemptHold;
  readonly #request: ClientState;
  readonly #redactor: Redactor;
  #first: IteratorResult<string> | null = null;
  #settled = false;

  /** Takes the hold and the request themselves, not closures over them: no allocation per stream for either. */
  constructor(inner: StreamResponse, hold: AttemptHold, request: ClientState, redactor: Redactor) {
    this.status = inner.status;
    this.native = inner.native;
    this.#inner = inner;
    this.#iterator = inner.chunks[Symbol.asyncIterator]();
    this.#hold = hold;
    this.#request = request;
    this.#redactor = redactor;
    this.chunks = this.#read();
  }

  usage(): Usage | null {
    return this.#inner.usage();
  }

  /** Reads the first chunk; rejects (and settles the attempt) if the stream fails first. */
  async prime(): Promise<void> {
    try {
      this.#first = await this.#iterator.next();
    } catch (err) {
      this.#finish(this.#request.clientGone ? 'neutral' : verdictOf(toSluiceError(err)));
      throw this.#redacted(err);
    }
    if (this.#first.done === true) this.#finish('success');
  }

  async *#read(): AsyncGenerator<string> {
    try {
      let item = this.#first ?? (await this.#iterator.next());
      this.#first = null;
      while (item.done !== true) {
        yield item.value;
        item = await this.#iterator.next();
      }
      this.#finish('success');
    } catch (err) {
      this.#finish(this.#request.clientGone ? 'neutral' : verdictOf(toSluiceError(err)));
      throw this.#redacted(err);
    } finally {
      // Left early (the consumer stopped reading): close the upstream and release the slot.
      if (!this.#settled) {
        this.#finish('neutral');
        await this.#iterator.return?.();
      }
    }
  }

  /** A SluiceError scrubbed; anything else (an abort) as it is. */
  #redacted(err: unknown): unknown {
    return isSluiceError(err) ? redactError(err, this.#redactor) : err;
  }

  #finish(verdict: Verdict): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#hold.finish(verdict, this.#inner.usage()?.totalTokens);
  }
}
