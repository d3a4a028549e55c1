/**
 * GET /v1/responses/{id}, GET /v1/responses/{id}/input_items and DELETE /v1/responses/{id}:
 * the caller's stored responses (db/responses.ts). Guarded like the model endpoints; a
 * response that is not the caller's is not found (404), never forbidden, so ids leak nothing.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { SluiceError, toSluiceError } from '../../errors.js';
import type { ResponsesStore } from '../../db/responses.js';
import type { Guard } from '../../policies/guard.js';
import type { JsonObject } from '../../providers/types.js';
import { logInternal, writeErrorBody, writeJson, type BaseHeaders } from '../respond.js';

/** A GET or DELETE under /v1/responses/, as the edge hands it over: no body read. */
export interface StoredResponseRequest {
  readonly id: string;
  readonly ip: string;
  readonly method: string;
  /** The request path, e.g. /v1/responses/resp_1/input_items. */
  readonly path: string;
  /** The query string without `?`, or ''. */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly res: ServerResponse;
  readonly base: BaseHeaders | null;
}

export interface StoredResponsesDeps {
  readonly guard: Guard;
  /** Null without a database: nothing is ever found. */
  readonly store: ResponsesStore | null;
  readonly logger: Logger;
}

const PREFIX = '/v1/responses/';

/** The handler for every GET and DELETE under /v1/responses/. */
export function storedResponses(deps: StoredResponsesDeps): (x: StoredResponseRequest) => Promise<void> {
  return async (x) => {
    try {
      const [id, sub, ...rest] = x.path.slice(PREFIX.length).split('/');
      const route = id === undefined || id === '' || rest.length > 0 ? null : sub === undefined ? x.method : sub === 'input_items' && x.method === 'GET' ? 'ITEMS' : null;
      if (route === null || (route !== 'GET' && route !== 'DELETE' && route !== 'ITEMS')) {
        throw new SluiceError('SLUICE_ERR_NOT_FOUND', { message: `No such endpoint: ${x.method} ${x.path}.` });
      }
      const principal = await deps.guard.check(x.ip, x.headers);
      const store = deps.store;
      const responseId = decodeId(id!);
      const missing = (): SluiceError =>
        new SluiceError('SLUICE_ERR_RESPONSE_NOT_FOUND', { message: store === null ? `No stored response with id ${JSON.stringify(responseId)}: this gateway keeps none (it has no database).` : `No stored response with id ${JSON.stringify(responseId)}.` });
      if (store === null) throw missing();
      if (route === 'DELETE') {
        if (!(await store.delete(principal.id, responseId))) throw missing();
        writeJson(x.res, 200, JSON.stringify({ id: responseId, object: 'response', deleted: true }), x.id, x.base, null);
        return;
      }
      const stored = await store.get(principal.id, responseId);
      if (stored === null) throw missing();
      const body = route === 'GET' ? stored.response : itemsPage(stored.inputItems, new URLSearchParams(x.query));
      writeJson(x.res, 200, JSON.stringify(body), x.id, x.base, null);
    } catch (err) {
      const e = toSluiceError(err);
      logInternal(deps.logger, e, x.id);
      writeErrorBody(x.res, e, e.toBody(), x.id, x.base, null);
    }
  };
}

function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new SluiceError('SLUICE_ERR_INVALID_PATH', { message: 'The request path has a malformed percent-escape.' });
  }
}

function invalid(param: string, what: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid request: "${param}" ${what}.`, param });
}

/** One page of input items, as OpenAI lists them: `order` (desc by default), `limit` (20, 1–100), `after` an item id. */
export function itemsPage(items: readonly JsonObject[], query: URLSearchParams): JsonObject {
  const order = query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw invalid('order', 'must be "asc" or "desc"');
  const limitText = query.get('limit') ?? '20';
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 100) throw invalid('limit', 'must be an integer from 1 to 100');
  const ordered = order === 'asc' ? [...items] : [...items].reverse();
  const after = query.get('after');
  let start = 0;
  if (after !== null) {
    const at = ordered.findIndex((item) => item.id === after);
    if (at === -1) throw invalid('after', 'must be the id of an item of this response');
    start = at + 1;
  }
  const data = ordered.slice(start, start + limit);
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: start + limit < ordered.length };
}
