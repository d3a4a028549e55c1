/**
 * The HTTP half of a translating adapter: posts a translated body to the provider over the
 * shared keep-alive pools and turns transport failures and error statuses into SluiceErrors.
 * Adapters keep only what differs per provider: paths, headers, and the translation itself.
 */
import type { Dispatcher } from 'undici';
import type { SluiceError } from '../../errors.js';
import { mapUpstreamError } from '../../upstream/errors.js';
import type { UpstreamPools } from '../../upstream/pools.js';
import { requestText, type TextResponse } from '../../upstream/text-request.js';
import type { ProviderCall } from '../types.js';
import type { HttpProviderRuntime } from './config.js';
import { MAX_ERROR_BODY, readErrorBody, retryAfterOf } from './body.js';
import { headerList } from './header-list.js';
import { undiciSignal } from '../../lib/cancel.js';
import { KeyPool, type KeyPoolServices } from '../keys/pool.js';

/** Builds the error for an upstream status >= 400 from the start of its body. */
export type StatusErrorMapper = (status: number, bodyText: string, retryAfter: string | null) => SluiceError;

/** A call's headers beside the provider's and the key's: null sends the adapter's fixed ones (given to the constructor). */
export type CallHeaders = Readonly<Record<string, string>> | null;

export class UpstreamClient {
  readonly #config: HttpProviderRuntime;
  readonly #pools: UpstreamPools;
  readonly #pool: Dispatcher;
  readonly #streamPool: Dispatcher;
  readonly #mapStatus: StatusErrorMapper;
  /** The auth header(s) of each key of the pool, by key index (built once). */
  readonly #auth: readonly Readonly<Record<string, string>>[];
  /**
   * The request headers of each key with the adapter's fixed headers, as undici's flat list of
   * names and values (built once; a call appends its accept and request id).
   */
  readonly #fixed: readonly (readonly string[])[];
  /** The provider's API keys (issue 21): each call takes one; answers rest or remove them. */
  readonly keys: KeyPool;

  /**
   * `auth` gives a key's auth header(s) (`x-api-key`, `x-goog-api-key`); null: no key configured.
   * `fixed` are the headers the adapter sends on most calls (`anthropic-version`), merged once.
   */
  constructor(config: HttpProviderRuntime, pools: UpstreamPools, mapStatus: StatusErrorMapper, auth: (key: string | null) => Readonly<Record<string, string>>, services?: KeyPoolServices, fixed: Readonly<Record<string, string>> = {}) {
    this.#config = config;
    this.#pools = pools;
    this.#pool = pools.forCall(config, config.timeouts.connectMs, false);
    this.#streamPool = pools.forCall(config, config.timeouts.connectMs, true);
    this.#mapStatus = mapStatus;
    this.keys = new KeyPool(config.name, config.apiKeys, services);
    this.#auth = this.keys.keys.map((k) => auth(k.secret === null ? null : k.secret.reveal()));
    this.#fixed = this.#auth.map((a) => this.#list(fixed, a));
  }

  /**
   * POSTs JSON to `path` (the base path is prepended) with a key of the pool and reads the
   * answer whole, with a dispatch handler (no body stream, no AbortSignal). Resolves with a
   * 2xx/3xx answer only. An answer that was the key's fault (429, 401/403) is sent again on
   * another key, at most once per key.
   */
  async postText(call: ProviderCall, path: string, headers: CallHeaders, body: string): Promise<TextResponse> {
    const pool = this.#poolFor(call);
    const keys = this.keys;
    for (let left = keys.keys.length - 1; ; left--) {
      const key = keys.pick(call.estimatedTokens);
      let res: TextResponse;
      try {
        res = await requestText(pool, this.#options(call, path, headers, key.index, body), call.signal, MAX_ERROR_BODY);
      } catch (err) {
        throw mapUpstreamError(err, this.#config.name, false);
      }
      const verdict = keys.answered(key, res.status, res.headers);
      if (res.status < 400) return res;
      if (verdict === 'retry' && left > 0) continue;
      throw this.#mapStatus(res.status, res.text, retryAfterOf(res.headers));
    }
  }

  /**
   * POSTs JSON as `postText` does, for an answer read as a stream (SSE): resolves with a
   * 2xx/3xx response whose body is still to be read.
   */
  async post(call: ProviderCall, path: string, headers: CallHeaders, body: string): Promise<Dispatcher.ResponseData> {
    const pool = this.#poolFor(call);
    const keys = this.keys;
    for (let left = keys.keys.length - 1; ; left--) {
      const key = keys.pick(call.estimatedTokens);
      let res: Dispatcher.ResponseData;
      try {
        res = await pool.request({ ...this.#options(call, path, headers, key.index, body), signal: undiciSignal(call.signal) });
      } catch (err) {
        throw mapUpstreamError(err, this.#config.name, false);
      }
      const verdict = keys.answered(key, res.statusCode, res.headers);
      if (res.statusCode < 400) return res;
      if (verdict === 'retry' && left > 0) {
        await res.body.dump().catch(() => {});
        continue;
      }
      const text = await readErrorBody(res.body);
      throw this.#mapStatus(res.statusCode, text, retryAfterOf(res.headers));
    }
  }

  /** GETs `path` with a key of the pool: any 2xx is healthy (a provider's `/models` also proves the key works). */
  async probe(path: string, signal: AbortSignal): Promise<void> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#pool.request({ method: 'GET', path: this.#config.basePath + path, headers: [...this.#fixed[this.keys.pick().index]!], signal });
    } catch (err) {
      throw mapUpstreamError(err, this.#config.name, false);
    }
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) throw this.#mapStatus(res.statusCode, '', null);
  }

  #poolFor(call: ProviderCall): Dispatcher {
    const config = this.#config;
    const timeouts = call.timeouts ?? config.timeouts;
    return timeouts.connectMs !== config.timeouts.connectMs ? this.#pools.forCall(config, timeouts.connectMs, call.stream) : call.stream ? this.#streamPool : this.#pool;
  }

  #options(call: ProviderCall, path: string, headers: CallHeaders, keyIndex: number, body: string): Dispatcher.DispatchOptions {
    const config = this.#config;
    const timeouts = call.timeouts ?? config.timeouts;
    const list = headers === null ? this.#fixed[keyIndex]! : this.#list(headers, this.#auth[keyIndex]!);
    return {
      method: 'POST',
      path: config.basePath + path,
      headers: [...list, 'accept', call.stream ? 'text/event-stream' : 'application/json', 'x-request-id', call.requestId],
      body,
      headersTimeout: timeouts.firstByteMs,
      bodyTimeout: timeouts.idleMs,
    };
  }

  /** The provider's headers, then the call's, then the key's auth and the content type: a later one wins. */
  #list(headers: Readonly<Record<string, string>>, auth: Readonly<Record<string, string>>): string[] {
    return headerList({ ...this.#config.headers, ...headers, ...auth, 'content-type': 'application/json' });
  }
}
