/**
 * The HTTP calls of a provider's batch API (issue 21; providers/batch.ts): a few JSON and
 * JSONL requests per batch, over the provider's keep-alive pool, with its first API key (a
 * provider batch belongs to the account that created it). Failures become SluiceErrors: the
 * transport's (502/504) and the provider's status (with its message), so the caller can tell
 * a refusal (4xx) from a failure to try again.
 */
import { randomBytes } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import type { SluiceError } from '../../errors.js';
import { mapUpstreamError } from '../../upstream/errors.js';
import type { UpstreamPools } from '../../upstream/pools.js';
import type { JsonObject } from '../types.js';
import { readErrorBody, retryAfterOf } from './body.js';
import type { HttpProviderRuntime } from './config.js';
import { badResponse } from './errors.js';

export type BatchStatusMapper = (status: number, bodyText: string, retryAfter: string | null) => SluiceError;

export interface BatchHttpRequest {
  readonly method: 'GET' | 'POST';
  /** Below the provider's base path (`/batches`), or an absolute URL the provider gave (Anthropic's `results_url`). */
  readonly path: string;
  readonly body?: string | Buffer;
  readonly contentType?: string;
}

export class BatchHttp {
  readonly #config: HttpProviderRuntime;
  readonly #pools: UpstreamPools;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #mapStatus: BatchStatusMapper;

  /** `headers`: the provider's auth header(s) for its first key, and any it always needs (`anthropic-version`). */
  constructor(config: HttpProviderRuntime, pools: UpstreamPools, headers: Readonly<Record<string, string>>, mapStatus: BatchStatusMapper) {
    this.#config = config;
    this.#pools = pools;
    this.#headers = { ...config.headers, ...headers };
    this.#mapStatus = mapStatus;
  }

  /** The answer's text; rejects with a SluiceError for a transport failure or a status >= 400. */
  async text(r: BatchHttpRequest): Promise<string> {
    const config = this.#config;
    const headers: Record<string, string> = { ...this.#headers, accept: 'application/json' };
    if (r.contentType !== undefined) headers['content-type'] = r.contentType;
    const options = { method: r.method, headers, body: r.body ?? null, headersTimeout: config.timeouts.firstByteMs, bodyTimeout: config.timeouts.idleMs };
    let res: Dispatcher.ResponseData;
    try {
      if (/^https?:\/\//.test(r.path)) {
        const url = new URL(r.path);
        // A URL on the provider's own origin goes over its pool; another (a CDN) is fetched directly, without the key.
        if (url.origin === config.origin) res = await this.#pool().request({ ...options, path: url.pathname + url.search });
        else res = await request(url, { method: r.method, headersTimeout: config.timeouts.firstByteMs, bodyTimeout: config.timeouts.idleMs });
      } else res = await this.#pool().request({ ...options, path: config.basePath + r.path });
    } catch (err) {
      throw mapUpstreamError(err, config.name, false);
    }
    if (res.statusCode >= 400) throw this.#mapStatus(res.statusCode, await readErrorBody(res.body), retryAfterOf(res.headers));
    try {
      return await res.body.text();
    } catch (err) {
      throw mapUpstreamError(err, config.name, true);
    }
  }

  /** The answer as a JSON object. */
  async json(r: BatchHttpRequest): Promise<JsonObject> {
    const text = await this.text(r);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw badResponse(this.#config.name, 'a batch API answer that is not JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badResponse(this.#config.name, 'a batch API answer that is not a JSON object');
    return value as JsonObject;
  }

  #pool(): Dispatcher {
    return this.#pools.forCall(this.#config, this.#config.timeouts.connectMs, false);
  }
}

/** The JSON objects of a JSONL text; lines that are not objects are skipped. */
export function jsonLines(text: string): JsonObject[] {
  const out: JsonObject[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) out.push(v as JsonObject);
    } catch {
      // A provider's result file is JSONL; a torn line is left out (its request is reported missing).
    }
  }
  return out;
}

/** A multipart/form-data body with text fields and one file part. */
export function multipart(fields: Readonly<Record<string, string>>, file: { name: string; filename: string; type: string; content: Buffer }): { body: Buffer; contentType: string } {
  const boundary = `sluice-${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\nContent-Type: ${file.type}\r\n\r\n`), file.content, Buffer.from(`\r\n--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}
