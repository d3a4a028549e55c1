/**
 * The HTTP half of a translating adapter: posts a translated body to the provider over the
 * shared keep-alive pools and turns transport failures and error statuses into SluiceErrors.
 * Adapters keep only what differs per provider: paths, headers, and the translation itself.
 */
import type { Dispatcher } from 'undici';
import type { SluiceError } from '../../errors.js';
import { mapUpstreamError } from '../../upstream/errors.js';
import type { UpstreamPools } from '../../upstream/pools.js';
import type { ProviderCall } from '../types.js';
import type { HttpProviderRuntime } from './config.js';
import { readErrorBody, retryAfterOf } from './body.js';
import { undiciSignal } from '../../lib/cancel.js';
import { KeyPool, type KeyPoolServices } from '../keys/pool.js';

/** Builds the error for an upstream status >= 400 from the start of its body. */
export type StatusErrorMapper = (status: number, bodyText: string, retryAfter: string | null) => SluiceError;

export class UpstreamClient {
  readonly #config: HttpProviderRuntime;
  readonly #pools: UpstreamPools;
  readonly #pool: Dispatcher;
  readonly #streamPool: Dispatcher;
  readonly #mapStatus: StatusErrorMapper;
  /** The auth header(s) of each key of the pool, by key index (built once). */
  readonly #auth: readonly Readonly<Record<string, string>>[];
  /** The provider's API keys (issue 21): each call takes one; answers rest or remove them. */
  readonly keys: KeyPool;

  /** `auth` gives a key's auth header(s) (`x-api-key`, `x-goog-api-key`); null: no key configured. */
  constructor(config: HttpProviderRuntime, pools: UpstreamPools, mapStatus: StatusErrorMapper, auth: (key: string | null) => Readonly<Record<string, string>>, services?: KeyPoolServices) {
    this.#config = config;
    this.#pools = pools;
    this.#pool = pools.forCall(config, config.timeouts.connectMs, false);
    this.#streamPool = pools.forCall(config, config.timeouts.connectMs, true);
    this.#mapStatus = mapStatus;
    this.keys = new KeyPool(config.name, config.apiKeys, services);
    this.#auth = this.keys.keys.map((k) => auth(k.secret === null ? null : k.secret.reveal()));
  }

  /**
   * POSTs JSON to `path` (the base path is prepended) with a key of the pool. Resolves with a
   * 2xx/3xx response only. An answer that was the key's fault (429, 401/403) is sent again on
   * another key, at most once per key.
   */
  async post(call: ProviderCall, path: string, headers: Record<string, string>, body: string): Promise<Dispatcher.ResponseData> {
    const config = this.#config;
    const timeouts = call.timeouts ?? config.timeouts;
    const pool = timeouts.connectMs !== config.timeouts.connectMs ? this.#pools.forCall(config, timeouts.connectMs, call.stream) : call.stream ? this.#streamPool : this.#pool;
    const keys = this.keys;
    for (let left = keys.keys.length - 1; ; left--) {
      const key = keys.pick(call.estimatedTokens);
      let res: Dispatcher.ResponseData;
      try {
        res = await pool.request({
          method: 'POST',
          path: config.basePath + path,
          headers: { ...config.headers, ...headers, ...this.#auth[key.index], 'content-type': 'application/json', accept: call.stream ? 'text/event-stream' : 'application/json', 'x-request-id': call.requestId },
          body,
          signal: undiciSignal(call.signal),
          headersTimeout: timeouts.firstByteMs,
          bodyTimeout: timeouts.idleMs,
        });
      } catch (err) {
        throw mapUpstreamError(err, config.name, false);
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
}
