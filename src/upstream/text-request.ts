import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { CancelSignal } from '../lib/cancel.js';
import { CancellableHandler } from './cancellable.js';

/** A complete upstream answer read into a string. */
export interface TextResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as UTF-8 without a leading BOM; for a status >= 400, at most `errorBodyLimit` bytes of it as they are, or '' when it broke off. */
  readonly text: string;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * Sends one request and reads its whole answer into a string, with a dispatch handler rather
 * than `Dispatcher.request`: request() builds an AsyncResource, a Readable body and its
 * consumer for every call, which showed in the gateway's profile for answers that are only
 * ever read whole (issue #7). It behaves as `request()` + `body.text()` did: it rejects with
 * undici's error, or the signal's reason once aborted, before or during the body. An error
 * answer's body is read up to `errorBodyLimit` bytes, then the connection is cut; a failure
 * while reading it leaves the text empty instead of failing the call.
 */
export function requestText(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: CancelSignal, errorBodyLimit: number): Promise<TextResponse> {
  return new Promise((resolve, reject) => {
    dispatcher.dispatch(options, new TextHandler(signal, errorBodyLimit, resolve, reject));
  });
}

class TextHandler extends CancellableHandler implements Dispatcher.DispatchHandler {
  readonly #errorBodyLimit: number;
  readonly #resolve: (r: TextResponse) => void;
  readonly #reject: (err: unknown) => void;
  #status = 0;
  #headers: IncomingHttpHeaders = {};
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #settled = false;

  constructor(signal: CancelSignal, errorBodyLimit: number, resolve: (r: TextResponse) => void, reject: (err: unknown) => void) {
    super(signal);
    this.#errorBodyLimit = errorBodyLimit;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: the answer is still to come
    this.#status = statusCode;
    this.#headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#status >= 400 && this.#size >= this.#errorBodyLimit) {
      this.#settle(null, this.#text(this.#errorBodyLimit, false));
      controller.abort(new Error('error body limit reached'));
    }
  }

  onResponseEnd(): void {
    this.#settle(null, this.#status >= 400 ? this.#text(this.#errorBodyLimit, false) : this.#text(this.#size, true));
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    // A broken error body still makes the error answer, with no text.
    if (this.#status >= 400) this.#settle(null, '');
    else this.#settle(err, '');
  }

  /** The body read so far, up to `limit` bytes; a BOM is dropped as undici's body.text() drops it. */
  #text(limit: number, dropBom: boolean): string {
    const buf = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
    const start = dropBom && buf.length >= 3 && buf[0] === UTF8_BOM[0] && buf[1] === UTF8_BOM[1] && buf[2] === UTF8_BOM[2] ? 3 : 0;
    return buf.toString('utf8', start, Math.min(limit, buf.length));
  }

  #settle(err: Error | null, text: string): void {
    if (this.#settled) return;
    this.#settled = true;
    this.unlisten();
    if (err !== null) this.#reject(err);
    else this.#resolve({ status: this.#status, headers: this.#headers, text });
  }
}
