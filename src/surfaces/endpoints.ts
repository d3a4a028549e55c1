import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { SluiceError, toSluiceError } from '../errors.js';
import type { EventBus } from '../observability/events.js';
import type { Metrics } from '../observability/metrics.js';
import { cancelWhenClientLeaves } from '../exchange/client-gone.js';
import { RequestContext } from '../exchange/context.js';
import { summarize } from '../exchange/summary.js';
import type { Pipelines } from '../exchange/pipelines.js';
import type { Endpoint, JsonObject, ProviderResponse } from '../providers/types.js';
import type { RuntimeConfig } from '../config/compile.js';
import type { Guard } from '../policies/guard.js';
import { clientClosed, logInternal, pumpStream, writeErrorBody, writeJson, type BaseHeaders, type ModelExchange, type StreamWriting } from './respond.js';
import type { StreamSlots } from './stream-limits.js';
import type { BoundDialect, Dialect } from './dialect.js';
import { anthropicDialect, openaiDialect } from './dialects.js';
import { findUnstorable, unstorable } from '../lib/text.js';
import { countTokens } from './anthropic/count-tokens.js';
import type { ResponsesStore } from '../db/responses.js';
import { ResponsesDialect } from './responses/dialect.js';
import { routePriority } from '../routing/priority.js';

export interface SurfaceDeps {
  pipelines: () => Pipelines;
  routing: RuntimeConfig['routing'];
  guard: Guard;
  bus: EventBus;
  metrics: Metrics;
  now: () => number;
  /**
   * Resolves once what must be on record before a client has a whole answer is: its usage
   * record handed to the OS (synced, with `usage.fsync: always`). Absent without accounting.
   */
  recorded?: () => Promise<void>;
  /** Where 500s are logged with their cause (logInternal). */
  logger: Logger;
  /** Open streams, in all and per client address (issue 15). */
  streams: StreamSlots;
  /** How streams are written to clients (the write timeout). */
  writing: StreamWriting;
  /** Stored responses of /v1/responses (issue 18); absent or null without a database. */
  responses?: ResponsesStore | null;
}

/** A model endpoint: its handler, and the dialect its errors are written in. */
export interface ModelEndpoint {
  readonly serve: (x: ModelExchange) => Promise<void>;
  readonly dialect: Dialect;
  /** Records a client that went away before its body was read (499 in metrics, an info line). */
  readonly closed: (id: string) => void;
}

/**
 * The request path every surface shares: translate the body to the canonical form, guard
 * (IP limits, identity), route, run the route's chain, and answer in the client's dialect.
 */
function serve(deps: SurfaceDeps, dialect: Dialect, endpoint: Endpoint): ModelEndpoint['serve'] {
  const finish = (ctx: RequestContext): Promise<void> => publishBeforeLastBytes(ctx, deps);
  return async (x: ModelExchange): Promise<void> => {
    const startedAt = deps.now();
    let ctx: RequestContext;
    try {
      refuseUnstorable(x.body);
      const native = dialect.native !== undefined && dialect.native.endpoints.has(endpoint) ? dialect.native : null;
      let body: JsonObject | null = null;
      let refusal: SluiceError | null = null;
      if (dialect.bind === undefined) {
        if (native === null) body = dialect.request(endpoint, x.body);
        else ({ body, refusal } = native.request(endpoint, x.body));
      }
      const principal = x.batch?.principal ?? (await deps.guard.check(x.ip, x.headers));
      let answering = dialect;
      let bound: BoundDialect | null = null;
      // A stateful dialect (the Responses API) translates once the caller is known.
      if (body === null) {
        bound = await dialect.bind!(x.body, principal);
        ({ body, dialect: answering } = bound);
      }
      const pipelines = deps.pipelines();
      const route = pipelines.table.match(body.model as string);
      if (route === null) {
        throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', { message: `No route serves the model ${JSON.stringify(body.model)}.`, param: 'model' });
      }
      ctx = new RequestContext(x.id, endpoint, body, route, startedAt);
      ctx.bodyText = body === x.body ? x.text : null;
      ctx.principal = principal;
      ctx.headers = x.headers;
      // The client's own body travels beside the canonical one, for targets of its schema (issue 18).
      if (native !== null && body !== x.body) ctx.native = { schema: native.schema, body: x.body as JsonObject, text: x.text, headers: x.headers, refusal };
      else if (bound?.native !== undefined && answering.native !== undefined) {
        const n = bound.native;
        ctx.native = { schema: answering.native.schema, body: n.body, text: n.body === x.body ? x.text : null, headers: x.headers, refusal: n.refusal };
      }
      ctx.region = headerValue(x.headers[deps.routing.regionHeader]) ?? deps.routing.region;
      ctx.requestedPriority = parsePriority(headerValue(x.headers['x-sluice-priority']));
      // The route's priority by request type; the admit stage adds the tier's. Without an admit
      // stage (no tiers in play) the route alone decides whether to honour x-sluice-priority.
      ctx.priority = route.queue.priorityHeader && ctx.requestedPriority !== null ? ctx.requestedPriority : routePriority(route.queue, endpoint, x.headers);
      if (x.batch !== undefined) {
        ctx.priority = x.batch.priority;
        ctx.batchId = x.batch.id;
      }
      const chain = pipelines.chain(route);
      if (ctx.stream) {
        const refusal = deps.streams.acquire(x.ip);
        if (refusal !== null) throw refusal;
      }
      cancelWhenClientLeaves(x.res, ctx);
      try {
        await run(ctx, chain, x, answering, deps, finish);
      } finally {
        if (ctx.stream) deps.streams.release(x.ip);
      }
    } catch (err) {
      const e = toSluiceError(err);
      logInternal(deps.logger, e, x.id);
      deps.metrics.recordUnrouted(endpoint, e.status, e.code);
      writeErrorBody(x.res, e, dialect.errorBody(e, x.id), x.id, x.base, null);
      return;
    }
    publish(ctx, deps);
  };
}

/** Publishes the finished request (`request:end`), once. */
function publish(ctx: RequestContext, deps: SurfaceDeps): void {
  if (ctx.endedAt >= 0) return;
  ctx.disarmDeadline();
  ctx.endedAt = deps.now();
  deps.bus.emit('request:end', summarize(ctx));
}

/**
 * Publishes the finished request before its answer's last bytes go out, and waits until its
 * usage record is handed to the OS: a crash right after the client has the answer cannot
 * lose the record (issue 15; docs/usage.md, Durability). Once the bytes reach the socket the
 * client's process may run, and kill us, before we run again.
 */
async function publishBeforeLastBytes(ctx: RequestContext, deps: SurfaceDeps): Promise<void> {
  publish(ctx, deps);
  if (deps.recorded !== undefined) await deps.recorded();
}

/**
 * The model endpoints by path: the OpenAI-compatible surface (chat, completions, embeddings)
 * and Anthropic's /v1/messages (and its count_tokens). The edge serves POSTs to these paths.
 */
export function modelEndpoints(deps: SurfaceDeps): ReadonlyMap<string, ModelEndpoint> {
  const responsesDialect = new ResponsesDialect(deps.responses ?? null, deps.writing.clock);
  return new Map<string, ModelEndpoint>([
    ['/v1/chat/completions', { serve: serve(deps, openaiDialect, 'chat'), dialect: openaiDialect, closed: closed(deps, 'chat') }],
    ['/v1/completions', { serve: serve(deps, openaiDialect, 'completions'), dialect: openaiDialect, closed: closed(deps, 'completions') }],
    ['/v1/embeddings', { serve: serve(deps, openaiDialect, 'embeddings'), dialect: openaiDialect, closed: closed(deps, 'embeddings') }],
    ['/v1/messages', { serve: serve(deps, anthropicDialect, 'chat'), dialect: anthropicDialect, closed: closed(deps, 'chat') }],
    ['/v1/messages/count_tokens', { serve: countTokens(deps), dialect: anthropicDialect, closed: closed(deps, 'chat') }],
    ['/v1/responses', { serve: serve(deps, responsesDialect, 'chat'), dialect: responsesDialect, closed: closed(deps, 'chat') }],
  ]);
}

/** A client that aborted its upload: not a gateway failure, so not a 5xx, and not an error line. */
function closed(deps: SurfaceDeps, endpoint: Endpoint): ModelEndpoint['closed'] {
  return (id) => {
    const e = clientClosed();
    deps.metrics.recordUnrouted(endpoint, e.status, e.code);
    deps.logger.info({ reqId: id, endpoint, status: e.status, code: e.code }, 'client closed the connection before its request was read');
  };
}

/** A GET (or HEAD) of /v1/models or /v1/models/{model}, as the edge hands it over: no body. */
export interface ModelListRequest {
  readonly id: string;
  readonly ip: string;
  readonly headers: IncomingHttpHeaders;
  readonly res: ServerResponse;
  readonly base: BaseHeaders | null;
  /** The model asked for (the path after /v1/models/, percent-decoded; it may contain "/"); null for the list. */
  readonly model?: string | null;
  /** The query string, without its `?` (Anthropic's list pages with limit, after_id, before_id). */
  readonly query?: string;
}

/** What the list and a model look like to one client schema (issue 18). */
interface ModelShapes {
  list(ids: readonly string[], ownerOf: (id: string) => string, query: string): unknown;
  one(id: string, owner: string): unknown;
  error(err: SluiceError, requestId: string): unknown;
  readonly idHeader: string | undefined;
}

const openaiModels: ModelShapes = {
  list: (ids, ownerOf) => ({ object: 'list', data: ids.map((id) => openaiModels.one(id, ownerOf(id))) }),
  one: (id, owner) => ({ id, object: 'model', created: 0, owned_by: owner }),
  error: (err) => err.toBody(),
  idHeader: undefined,
};

/** Routes carry no release date: the epoch stands for "unknown", as OpenAI's `created: 0` does. */
const UNKNOWN_DATE = '1970-01-01T00:00:00Z';

/** Anthropic's list page: `limit` (1–1000, default 20), then the ids after `after_id` or before `before_id`. */
function anthropicPage(ids: readonly string[], query: string): { page: readonly string[]; hasMore: boolean } {
  const params = new URLSearchParams(query);
  const raw = params.get('limit');
  const limit = raw === null ? 20 : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'Invalid request: "limit" must be an integer from 1 to 1000.', param: 'limit' });
  const after = params.get('after_id');
  const before = params.get('before_id');
  if (after !== null && before !== null) throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'Invalid request: name at most one of after_id and before_id.', param: 'before_id' });
  if (before !== null) {
    const end = ids.indexOf(before);
    const upTo = end === -1 ? 0 : end;
    const start = Math.max(0, upTo - limit);
    return { page: ids.slice(start, upTo), hasMore: start > 0 };
  }
  const start = after === null ? 0 : ids.indexOf(after) + 1;
  const from = after !== null && start === 0 ? ids.length : start; // an unknown after_id: nothing after it
  return { page: ids.slice(from, from + limit), hasMore: from + limit < ids.length };
}

const anthropicModels: ModelShapes = {
  list: (ids, _owner, query) => {
    const { page, hasMore } = anthropicPage(ids, query);
    return { data: page.map((id) => anthropicModels.one(id, '')), has_more: hasMore, first_id: page[0] ?? null, last_id: page.at(-1) ?? null };
  },
  one: (id) => ({ type: 'model', id, display_name: id, created_at: UNKNOWN_DATE }),
  error: (err, requestId) => anthropicDialect.errorBody(err, requestId),
  idHeader: anthropicDialect.idHeader,
};

/**
 * GET /v1/models and GET /v1/models/{model}: the models the routes serve, in OpenAI's shape or,
 * for a client that sends `anthropic-version` (every Anthropic SDK does), in Anthropic's.
 * Guarded like the model endpoints: the route list is not for anyone without a credential
 * when auth is required (issue 15). A model no route serves is a 404 in the client's shape.
 */
export function modelList(deps: SurfaceDeps): (x: ModelListRequest) => Promise<void> {
  return async (x) => {
    const shapes = x.headers['anthropic-version'] === undefined ? openaiModels : anthropicModels;
    const base = shapes.idHeader === undefined ? x.base : { ...x.base, [shapes.idHeader]: x.id };
    try {
      await deps.guard.check(x.ip, x.headers);
      const table = deps.pipelines().table;
      const ownerOf = (id: string): string => table.match(id)?.targets[0]?.provider ?? 'sluice';
      const model = x.model ?? null;
      let body: unknown;
      if (model === null) body = shapes.list(table.models(), ownerOf, x.query ?? '');
      else {
        if (model === '' || table.match(model) === null) throw new SluiceError('SLUICE_ERR_MODEL_NOT_FOUND', { message: `No route serves the model ${JSON.stringify(model)}.`, param: 'model' });
        body = shapes.one(model, ownerOf(model));
      }
      writeJson(x.res, 200, JSON.stringify(body), x.id, base, null);
    } catch (err) {
      const e = toSluiceError(err);
      logInternal(deps.logger, e, x.id);
      writeErrorBody(x.res, e, shapes.error(e, x.id), x.id, base, null);
    }
  };
}

/**
 * Fields that end up in the usage record (the model, the end user, metadata ids) must be text
 * PostgreSQL can store: a NUL or a lone surrogate would be served and then lose its record.
 */
function refuseUnstorable(body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  const b = body as Record<string, unknown>;
  const param = (typeof b.model === 'string' && unstorable(b.model) ? 'model' : null) ?? (typeof b.user === 'string' && unstorable(b.user) ? 'user' : null) ?? findUnstorable(b.metadata, 'metadata');
  if (param !== null) {
    throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid request: ${JSON.stringify(param)} contains a NUL character or a lone UTF-16 surrogate, which cannot be stored.`, param });
  }
}

function headerValue(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? null : s;
}

/** `x-sluice-priority`: an integer from -100 to 100, higher first; anything else is ignored. */
function parsePriority(v: string | null): number | null {
  if (v === null || !/^-?\d{1,3}$/.test(v)) return null;
  return Math.max(-100, Math.min(100, Number(v)));
}

/** Whether an answer is the provider's own in the client's schema (pass-through): written as it came. */
function isNative(response: ProviderResponse, dialect: Dialect): boolean {
  return response.native !== undefined && response.native === dialect.native?.schema;
}

/** Runs a routed request's chain and writes the answer; every outcome is recorded on ctx. */
async function run(ctx: RequestContext, chain: (ctx: RequestContext) => Promise<void>, x: ModelExchange, dialect: Dialect, deps: SurfaceDeps, finish: (ctx: RequestContext) => Promise<void>): Promise<void> {
  const now = deps.now;
  try {
    await chain(ctx);
    const response = ctx.response;
    if (response === null) throw new SluiceError('SLUICE_ERR_INTERNAL', { message: 'The pipeline produced no response.' });
    const native = isNative(response, dialect);
    if (response.kind === 'stream') {
      await pumpStream(ctx, x.res, x.base, response, native ? dialect.native!.framing : dialect.framing(ctx), now, deps.logger, deps.writing, finish);
      return;
    }
    ctx.usage = response.usage;
    ctx.status = response.status;
    ctx.firstByteAt = now();
    const body = native ? response.body : dialect.json(response.body, ctx);
    if (native) dialect.native!.answered?.(response.body, ctx);
    await finish(ctx);
    writeJson(x.res, response.status, body, ctx.id, x.base, ctx.responseHeaders);
  } catch (err) {
    // A client that left is its own outcome (499), not whatever the abort broke upstream.
    const e = ctx.clientGone ? clientClosed() : (ctx.abortedError() ?? toSluiceError(err));
    ctx.status = e.status;
    ctx.errorCode = e.code;
    if (ctx.clientGone) return;
    logInternal(deps.logger, e, ctx.id);
    ctx.firstByteAt = now();
    await finish(ctx);
    writeErrorBody(x.res, e, dialect.errorBody(e, ctx.id), ctx.id, x.base, ctx.responseHeaders);
  }
}
