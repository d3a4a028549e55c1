import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { CancelSignal } from '../lib/cancel.js';
import { CancellableHandler } from './cancellable.js';

/**
 * An upstream answer whose head has arrived. Its body is then read one way: `whole()` (a small
 * answer written to the client in one piece), `stream()` (piped with backpressure), `dump()`
 * (thrown away, the connection kept when it ends soon) or `destroy()` (the connection cut).
 */
export interface UpstreamAnswer {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: AnswerBody;
}

export interface AnswerBody {
  /** The whole body; rejects with undici's error (or the signal's reason) when it breaks off. */
  whole(): Promise<Buffer>;
  /** The body as a stream (the bytes already received first); destroying it cuts the connection. */
  stream(): Readable;
  /** Reads the rest and discards it; past `DUMP_LIMIT` bytes the connection is cut instead. */
  dump(): void;
  /** Cuts the connection unless the body has ended. */
  destroy(): void;
}

/** What dump() reads before it gives up on keeping the connection (as undici's body.dump()). */
const DUMP_LIMIT = 128 * 1024;
/** Bytes buffered while nobody reads yet, before the upstream is paused. */
const BUFFER_LIMIT = 64 * 1024;

/**
 * Sends one request with a dispatch handler rather than `Dispatcher.request` (issue 19):
 * request() builds an AsyncResource, a Readable body and its consumer for every call, about a
 * tenth of a plain forward's CPU on loopback; most answers are read whole and need none of it.
 * Resolves at the response head (1xx skipped); rejects as request() does: with undici's error,
 * or the signal's reason once aborted.
 */
export function requestAnswer(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: CancelSignal): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    dispatcher.dispatch(options, new AnswerHandler(signal, resolve, reject));
  });
}

type Mode = 'buffer' | 'whole' | 'stream' | 'dump' | 'done';

class AnswerHandler extends CancellableHandler implements Dispatcher.DispatchHandler, AnswerBody {
  #resolve: ((a: UpstreamAnswer) => void) | null;
  #reject: ((err: unknown) => void) | null;
  #mode: Mode = 'buffer';
  #chunks: Buffer[] = [];
  #size = 0;
  #ended = false;
  #error: Error | null = null;
  #readable: Readable | null = null;
  #wholeDone: { resolve: (b: Buffer) => void; reject: (err: unknown) => void } | null = null;

  constructor(signal: CancelSignal, resolve: (a: UpstreamAnswer) => void, reject: (err: unknown) => void) {
    super(signal);
    this.#resolve = resolve;
    this.#reject = reject;
  }

  override handleEvent(): void {
    if (!this.#ended) super.handleEvent();
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: the answer is still to come
    const resolve = this.#resolve;
    this.#resolve = null;
    this.#reject = null;
    resolve?.({ statusCode, headers, body: this });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    switch (this.#mode) {
      case 'stream':
        if (!this.#readable!.push(chunk)) controller.pause();
        return;
      case 'dump':
        this.#size += chunk.length;
        if (this.#size > DUMP_LIMIT) this.#cut(new Error('dumped body too large'));
        return;
      case 'done':
        return;
      default:
        this.#chunks.push(chunk);
        this.#size += chunk.length;
        if (this.#mode === 'buffer' && this.#size > BUFFER_LIMIT) controller.pause();
    }
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.unlisten();
    if (this.#mode === 'stream') this.#readable!.push(null);
    else if (this.#mode === 'whole') this.#settleWhole();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#ended = true;
    this.unlisten();
    const reason = this.signal.aborted && this.signal.reason instanceof Error ? this.signal.reason : err;
    if (this.#reject !== null) {
      const reject = this.#reject;
      this.#resolve = null;
      this.#reject = null;
      reject(reason);
      return;
    }
    this.#error = reason;
    if (this.#mode === 'stream') this.#readable!.destroy(reason);
    else if (this.#mode === 'whole') this.#settleWhole();
  }

  whole(): Promise<Buffer> {
    this.#take('whole');
    return new Promise((resolve, reject) => {
      this.#wholeDone = { resolve, reject };
      if (this.#ended) this.#settleWhole();
      else this.controller?.resume();
    });
  }

  stream(): Readable {
    this.#take('stream');
    const readable = new Readable({
      read: () => this.controller?.resume(),
      destroy: (err, cb) => {
        if (!this.#ended) this.#cut(err ?? new Error('body stream destroyed'));
        cb(err);
      },
    });
    this.#readable = readable;
    for (const c of this.#chunks) readable.push(c);
    this.#chunks = [];
    if (this.#error !== null) readable.destroy(this.#error);
    else if (this.#ended) readable.push(null);
    return readable;
  }

  dump(): void {
    this.#take('dump');
    if (this.#ended) return;
    if (this.#size > DUMP_LIMIT) this.#cut(new Error('dumped body too large'));
    else this.controller?.resume();
  }

  destroy(): void {
    if (this.#mode !== 'buffer') return;
    this.#mode = 'done';
    this.#chunks = [];
    if (!this.#ended) this.#cut(new Error('body destroyed'));
  }

  #take(mode: Mode): void {
    if (this.#mode !== 'buffer') throw new Error(`the answer's body is already being read (${this.#mode})`);
    this.#mode = mode;
    if (mode === 'dump') this.#chunks = [];
  }

  #settleWhole(): void {
    const done = this.#wholeDone;
    if (done === null) return;
    this.#wholeDone = null;
    this.#mode = 'done';
    if (this.#error !== null) done.reject(this.#error);
    else done.resolve(this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size));
    this.#chunks = [];
  }

  #cut(err: Error): void {
    this.#mode = 'done';
    this.controller?.abort(err);
  }
}
