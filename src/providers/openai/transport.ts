/**
 * The one transport for the OpenAI wire format, used by every adapter whose upstream speaks it
 * (`openai`, `azure-openai`). Bodies pass through: the client's own JSON text when the body is
 * the one it sent, and answers are returned as the upstream wrote them; streams are re-framed
 * chunk by chunk without re-serialising JSON. What differs per provider (the URL, the auth
 * header) is given by the adapter.
 */
import { SluiceError } from '../../errors.js';
import { mapUpstreamError } from '../../upstream/errors.js';
import { topLevelMember } from '../../upstream/json-tail.js';
import type { UpstreamPools } from '../../upstream/pools.js';
import { parseSse } from '../../upstream/sse.js';
import type { HttpProviderRuntime } from '../http/config.js';
import type { JsonObject, ProviderCall, ProviderResponse, StreamResponse, Usage } from '../types.js';
import type { KeyPool, KeyPoolServices } from '../keys/pool.js';
import { UpstreamClient } from '../http/client.js';
import { upstreamStatusError } from '../upstream-error.js';
import { usageFromOpenAI } from '../usage.js';
import { openTranslatedStream } from '../http/stream.js';
import { ResponsesPassThroughStream, responsesJsonUsage, responsesUpstreamBody } from './responses.js';

export interface OpenAITransportOptions {
  /** The provider's auth header(s) for one key: `authorization: Bearer …` for OpenAI, `api-key` for Azure; null: no key. */
  readonly auth: (key: string | null) => Readonly<Record<string, string>>;
  /** The key pool's clock and events (issue 21). */
  readonly services?: KeyPoolServices | undefined;
  /**
   * Ask for `stream_options.include_usage` on every stream so it can be accounted (it is
   * stripped again when the client did not ask for it). Some OpenAI-compatible APIs
   * (Mistral) refuse the field; false sends the client's body as it is.
   */
  readonly streamUsage: boolean;
}

export class OpenAITransport {
  readonly #config: HttpProviderRuntime;
  /** Keys, pools, headers and the retry on another key, as for the translating adapters. */
  readonly #client: UpstreamClient;
  readonly #streamUsage: boolean;
  /** The provider's API keys (issue 21): each call takes one; answers rest or remove them. */
  readonly keys: KeyPool;

  constructor(config: HttpProviderRuntime, pools: UpstreamPools, options: OpenAITransportOptions) {
    this.#config = config;
    this.#client = new UpstreamClient(config, pools, upstreamStatusError, options.auth, options.services);
    this.keys = this.#client.keys;
    this.#streamUsage = options.streamUsage;
  }

  /**
   * POSTs the call's body to `path` (below the provider's base path) with a key of the pool;
   * an answer that was the key's fault (429, 401/403) is sent again on another key, at most
   * once per key, and never reaches the router as a target failure. With `responsesModel`
   * (issue 18), the call is a Responses API pass-through: `call.native`'s body goes upstream
   * with that model, and the answer comes back as the upstream wrote it.
   */
  async send(call: ProviderCall, path: string, responsesModel?: string): Promise<ProviderResponse> {
    const passThrough = responsesModel !== undefined && call.native !== undefined && call.native !== null;
    const body = passThrough ? responsesUpstreamBody(call.native!, responsesModel) : this.#bodyText(call);
    if (!call.stream) {
      // Read straight into a string (no body stream).
      const res = await this.#client.postText(call, path, null, body);
      if (passThrough) return { kind: 'json', status: res.status, body: res.text, usage: responsesJsonUsage(res.text, this.#config.name), native: 'openai-responses' };
      // Usage from the answer's tail when it is cleanly there; else a full parse (which also
      // refuses a body that is not JSON).
      const usage = topLevelMember(res.text, 'usage') ?? this.#parse(res.text).usage;
      return { kind: 'json', status: res.status, body: res.text, usage: usageFromOpenAI(usage) };
    }
    const name = this.#config.name;
    const res = await this.#client.post(call, path, null, body);
    const contentType = String(res.headers['content-type'] ?? '');
    if (contentType.startsWith('text/event-stream')) {
      if (passThrough) return { ...(await openTranslatedStream(name, res.statusCode, res.body, new ResponsesPassThroughStream(name))), native: 'openai-responses' };
      return new OpenAIStream(name, res.statusCode, res.body, call.includeUsage);
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw mapUpstreamError(err, name, false);
    }
    this.#parse(text);
    throw new SluiceError('SLUICE_ERR_UPSTREAM_BAD_RESPONSE', { message: `Provider "${name}" did not stream (content-type ${contentType || 'none'}).` });
  }

  /** GET `path`: any 2xx is healthy (for `/models`, it also proves the API key works). */
  probe(path: string, signal: AbortSignal): Promise<void> {
    return this.#client.probe(path, signal);
  }

  /**
   * The body to send: the client's own text when the body is the one it sent (no re-serialising
   * a long prompt), else the body serialised. The one place `include_usage` is injected.
   */
  #bodyText(call: ProviderCall): string {
    const body = call.body;
    if (call.stream && !call.includeUsage && this.#streamUsage) {
      const options = typeof body.stream_options === 'object' && body.stream_options !== null ? body.stream_options : {};
      return JSON.stringify({ ...body, stream_options: { ...options, include_usage: true } });
    }
    return call.bodyText ?? JSON.stringify(body);
  }

  #parse(text: string): JsonObject {
    try {
      return JSON.parse(text) as JsonObject;
    } catch {
      throw new SluiceError('SLUICE_ERR_UPSTREAM_BAD_RESPONSE', { message: `Provider "${this.#config.name}" answered with a body that is not JSON.` });
    }
  }
}

/**
 * A stream of OpenAI chunks read from upstream SSE, passed through as they came. Only the usage
 * chunk is touched: it is read for accounting, and dropped when the client did not ask for it.
 * Other chunks with empty `choices` (Azure's `prompt_filter_results`) pass through unchanged.
 */
class OpenAIStream implements StreamResponse {
  readonly kind = 'stream';
  readonly status: number;
  readonly chunks: AsyncIterable<string>;
  #usage: Usage | null = null;
  readonly #provider: string;
  readonly #includeUsage: boolean;
  readonly #body: AsyncIterable<Uint8Array>;

  constructor(provider: string, status: number, body: AsyncIterable<Uint8Array>, includeUsage: boolean) {
    this.status = status;
    this.#provider = provider;
    this.#includeUsage = includeUsage;
    this.#body = body;
    this.chunks = this.#read();
  }

  usage(): Usage | null {
    return this.#usage;
  }

  async *#read(): AsyncGenerator<string> {
    let done = false;
    try {
      for await (const ev of parseSse(this.#body)) {
        // After [DONE] the body is read to its end (nothing is expected) rather than left with
        // a break: leaving a body early destroys it, which builds an AbortError with its stack
        // and, when the end had not been parsed yet, closes the pooled upstream connection.
        if (done) continue;
        if (ev.data === '[DONE]') {
          done = true;
          continue;
        }
        if (ev.event === 'error' || ev.data.startsWith('{"error"')) throw this.#inStreamError(ev.data);
        // Only the final usage chunk carries an object; the others say "usage":null.
        if (ev.data.includes('"usage":{')) {
          const chunk = parseChunk(ev.data);
          this.#usage = usageFromOpenAI(chunk?.usage) ?? this.#usage;
          if (!this.#includeUsage && Array.isArray(chunk?.choices) && chunk.choices.length === 0) continue;
        }
        yield ev.data;
      }
    } catch (err) {
      // Everything was received: a failure while reading what follows [DONE] changes nothing.
      if (!done) throw mapUpstreamError(err, this.#provider, true);
    }
    if (!done) throw new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: `The stream from provider "${this.#provider}" ended without [DONE].` });
  }

  #inStreamError(data: string): SluiceError {
    const err = upstreamStatusError(502, data, null);
    return new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: err.message, upstream: err.upstream ?? undefined });
  }
}

function parseChunk(data: string): JsonObject | null {
  try {
    const v: unknown = JSON.parse(data);
    return typeof v === 'object' && v !== null ? (v as JsonObject) : null;
  } catch {
    return null;
  }
}
