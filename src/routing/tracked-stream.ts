import type { StreamResponse, Usage } from '../providers/types.js';
import { isSluiceError, toSluiceError } from '../errors.js';
import type { Redactor } from '../lib/redactor.js';
import { redactError } from '../upstream/errors.js';
import { verdictOf, type Verdict } from './outcome.js';

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
  readonly #inner: StreamResponse;
  readonly #iterator: AsyncIterator<string>;
  readonly #settle: (verdict: Verdict, usage: Usage | null) => void;
  readonly #clientGone: () => boolean;
  readonly #redactor: Redactor;
  #first: IteratorResult<string> | null = null;
  #settled = false;

  constructor(inner: StreamResponse, settle: (verdict: Verdict, usage: Usage | null) => void, clientGone: () => boolean, redactor: Redactor) {
    this.status = inner.status;
    this.#inner = inner;
    this.#iterator = inner.chunks[Symbol.asyncIterator]();
    this.#settle = settle;
    this.#clientGone = clientGone;
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
      this.#finish(this.#clientGone() ? 'neutral' : verdictOf(toSluiceError(err)));
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
      this.#finish(this.#clientGone() ? 'neutral' : verdictOf(toSluiceError(err)));
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
    this.#settle(verdict, this.#inner.usage());
  }
}
