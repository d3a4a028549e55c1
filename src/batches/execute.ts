/**
 * Runs one batch line through the normal model pipeline, in the process (issue 21): the model
 * endpoint of the batch's `endpoint` path serves it exactly as it serves a client (dialect,
 * routing, fallbacks, limits, budgets, cache, usage record, metrics), as the batch's principal
 * (the guard is not asked: the batch was authorised when it was created) and at the lowest
 * admission priority. The answer is written on a CapturedResponse instead of a socket.
 *
 * Chosen over a loopback HTTP call to the gateway's own edge: that call would need the
 * caller's credential, which the gateway never keeps (keys are stored hashed), or a side door
 * into the guard; in the process the principal travels as an explicit field.
 */
import { EventEmitter } from 'node:events';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { ModelEndpoint } from '../surfaces/endpoints.js';
import { PRIORITY_MIN } from '../routing/priority.js';
import type { BatchJob, ClaimedLine } from './store.js';

/**
 * The part of node's ServerResponse the surfaces write a JSON answer with, kept in memory.
 * Batch lines never stream (`stream` is taken out of their bodies), so write() is not needed.
 */
export class CapturedResponse extends EventEmitter {
  statusCode = 0;
  headers: OutgoingHttpHeaders = {};
  body = '';
  headersSent = false;
  destroyed = false;
  writableFinished = false;

  writeHead(status: number, headers: OutgoingHttpHeaders): this {
    this.statusCode = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }

  end(text?: string): this {
    if (text !== undefined) this.body += text;
    this.writableFinished = true;
    this.emit('close');
    return this;
  }

  write(text: string): boolean {
    this.body += text;
    return true;
  }

  destroy(): this {
    this.destroyed = true;
    this.emit('close');
    return this;
  }
}

/** What became of a line: an answer to record, or a refusal for now (rate limited) to try again later. */
export type LineOutcome =
  | { readonly kind: 'answer'; readonly ok: boolean; readonly status: number; readonly requestId: string; readonly body: unknown }
  | { readonly kind: 'later'; readonly retryAfterMs: number | null; readonly status: number; readonly requestId: string; readonly body: unknown };

/** Runs a claimed line; the runner's one dependency on the request path. */
export interface LineExecutor {
  run(line: ClaimedLine, job: BatchJob): Promise<LineOutcome>;
}

/** Refusals that say "not now" rather than "never": the line waits and is tried again. */
const LATER: ReadonlySet<string> = new Set(['SLUICE_ERR_RATE_LIMITED', 'SLUICE_ERR_QUEUE_FULL', 'SLUICE_ERR_QUEUE_TIMEOUT', 'SLUICE_ERR_LIMITER_UNAVAILABLE', 'SLUICE_ERR_SHUTTING_DOWN']);

function errorCodeOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const err = (body as { error?: unknown }).error;
  if (typeof err !== 'object' || err === null) return null;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : null;
}

function retryAfterMs(headers: OutgoingHttpHeaders): number | null {
  const v = Number(headers['retry-after']);
  return Number.isFinite(v) && v >= 0 ? v * 1000 : null;
}

export class PipelineExecutor implements LineExecutor {
  /** The model endpoints of the config version serving now (a reload swaps them, issue 20). */
  readonly #endpoints: () => ReadonlyMap<string, ModelEndpoint>;

  constructor(endpoints: () => ReadonlyMap<string, ModelEndpoint>) {
    this.#endpoints = endpoints;
  }

  async run(line: ClaimedLine, job: BatchJob): Promise<LineOutcome> {
    const requestId = `batch_req_${randomBytes(12).toString('hex')}`;
    const endpoint = this.#endpoints().get(job.endpoint);
    if (endpoint === undefined) {
      return { kind: 'answer', ok: false, status: 404, requestId, body: { error: { message: `No endpoint ${job.endpoint}.`, type: 'not_found_error', code: 'SLUICE_ERR_NOT_FOUND', param: null } } };
    }
    const body = JSON.parse(line.body) as Record<string, unknown>;
    // A batch line's answer is a whole JSON body: streaming options do not apply.
    delete body.stream;
    delete body.stream_options;
    const res = new CapturedResponse();
    await endpoint.serve({ id: requestId, ip: 'batch', headers: {}, body, text: null, res: res as unknown as ServerResponse, base: null, batch: { id: job.id, principal: job.principal, priority: PRIORITY_MIN } });
    let answer: unknown = null;
    try {
      answer = res.body === '' ? null : JSON.parse(res.body);
    } catch {
      answer = { error: { message: 'The answer could not be read.', type: 'api_error', code: 'SLUICE_ERR_INTERNAL', param: null } };
    }
    const status = res.destroyed && !res.writableFinished ? 500 : res.statusCode;
    const code = errorCodeOf(answer);
    if (code !== null && LATER.has(code)) return { kind: 'later', retryAfterMs: retryAfterMs(res.headers), status, requestId, body: answer };
    return { kind: 'answer', ok: status >= 200 && status < 300, status, requestId, body: answer };
  }
}
