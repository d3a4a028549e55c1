/**
 * The Files API and the Batch API over HTTP (issue 21; docs/batches.md): every request under
 * /v1/files and /v1/batches, as the edge hands it over (its body not read yet: an upload is
 * read here under `files.maxBytes`, not the edge's `server.bodyLimit`). Guarded like the model
 * endpoints; files and batches belong to the caller's principal, and another caller's are not
 * found (404), never forbidden, so ids leak nothing.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { SluiceError, toSluiceError } from '../errors.js';
import { parseJsonBody, readBytes } from '../edge/body.js';
import type { Clock } from '../lib/clock.js';
import { isRecord } from '../lib/json.js';
import type { Guard } from '../policies/guard.js';
import { logInternal, writeErrorBody, writeJson, type BaseHeaders } from '../surfaces/respond.js';
import { UPLOAD_PURPOSES, type FileStore } from './files.js';
import { BATCH_ENDPOINTS, parseInput, type InputLine } from './input.js';
import type { Principal } from '../exchange/principal.js';
import type { PassthroughPlan } from './provider-plan.js';
import type { BatchStore } from './store.js';

/** A request under /v1/files or /v1/batches, as the edge hands it over: its body unread. */
export interface FilesRequest {
  readonly id: string;
  readonly ip: string;
  readonly method: string;
  readonly path: string;
  /** The query string without `?`, or ''. */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly base: BaseHeaders | null;
}

export interface BatchSurfaceDeps {
  /** The guard of the config version serving now. */
  readonly guard: () => Guard;
  readonly files: FileStore;
  readonly batches: BatchStore;
  readonly clock: Clock;
  /** `files.maxBytes`: the largest file; an upload's body may exceed it by MULTIPART_OVERHEAD. */
  readonly maxBytes: number;
  readonly logger: Logger;
  /** Called when a batch was created or cancelled, so this instance's runners act on it at once. */
  readonly created: () => void;
  /** Whether a new batch goes to its provider's batch API (issue 21, provider-plan.ts); null: pass-through is off. */
  readonly plan: ((endpoint: string, lines: readonly InputLine[], principal: Principal) => PassthroughPlan | null) | null;
}

/** Room for the multipart framing and the purpose field around the file's bytes. */
const MULTIPART_OVERHEAD = 64 * 1024;
/** The largest body of POST /v1/batches (metadata is at most 16 short pairs). */
const CREATE_LIMIT = 64 * 1024;
const WINDOW_MS: Readonly<Record<string, number>> = { '24h': 24 * 3_600_000 };

/** Whether the edge hands a path to this surface. */
export function isFilesPath(path: string): boolean {
  return path === '/v1/files' || path.startsWith('/v1/files/') || path === '/v1/batches' || path.startsWith('/v1/batches/');
}

function invalid(param: string, what: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid request: "${param}" ${what}.`, param });
}

function noSuchEndpoint(x: FilesRequest): SluiceError {
  return new SluiceError('SLUICE_ERR_NOT_FOUND', { message: `No such endpoint: ${x.method} ${x.path}.` });
}

function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new SluiceError('SLUICE_ERR_INVALID_PATH', { message: 'The request path has a malformed percent-escape.' });
  }
}

function readAll(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    readBytes(req, limit, (err, bytes) => {
      if (err === null) resolve(bytes);
      else reject(err === 'gone' ? new SluiceError('SLUICE_ERR_CLIENT_CLOSED') : err);
    });
  });
}

function intParam(params: URLSearchParams, name: string, fallback: number, max: number): number {
  const text = params.get(name);
  if (text === null) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw invalid(name, `must be an integer from 1 to ${max}`);
  return n;
}

/** The handler for every request under /v1/files and /v1/batches. */
export function batchSurface(deps: BatchSurfaceDeps): (x: FilesRequest) => Promise<void> {
  return async (x) => {
    try {
      const [, , collection, rawId, sub, ...rest] = x.path.split('/');
      const id = rawId === undefined || rawId === '' ? null : decodeId(rawId);
      if (rest.length > 0 || (id === null && sub !== undefined)) throw noSuchEndpoint(x);
      if (x.method !== 'POST') x.req.resume();
      const principal = await deps.guard().check(x.ip, x.headers);
      const tenant = principal.id;
      const params = new URLSearchParams(x.query);
      if (collection === 'files') {
        if (id === null && sub === undefined && x.method === 'POST') return json(x, 200, await upload(deps, x, tenant));
        if (id === null && x.method === 'GET') {
          const order = params.get('order') ?? 'desc';
          if (order !== 'asc' && order !== 'desc') throw invalid('order', 'must be "asc" or "desc"');
          return json(x, 200, await deps.files.list(tenant, { limit: intParam(params, 'limit', 10_000, 10_000), after: params.get('after'), order, purpose: params.get('purpose') }));
        }
        if (id !== null && sub === undefined && x.method === 'GET') return json(x, 200, (await deps.files.get(tenant, id)) ?? fileMissing(id));
        if (id !== null && sub === undefined && x.method === 'DELETE') {
          if (!(await deps.files.delete(tenant, id))) fileMissing(id);
          return json(x, 200, { id, object: 'file', deleted: true });
        }
        if (id !== null && sub === 'content' && x.method === 'GET') {
          const file = (await deps.files.content(tenant, id)) ?? fileMissing(id);
          return raw(x, file.content);
        }
      } else if (collection === 'batches') {
        if (id === null && x.method === 'POST') return json(x, 200, await createBatch(deps, x, principal));
        if (id === null && x.method === 'GET') {
          const after = params.get('after');
          return json(x, 200, await deps.batches.list(tenant, after, intParam(params, 'limit', 20, 100)));
        }
        if (id !== null && sub === undefined && x.method === 'GET') return json(x, 200, (await deps.batches.get(tenant, id)) ?? batchMissing(id));
        if (id !== null && sub === 'cancel' && x.method === 'POST') {
          x.req.resume();
          const cancelled = (await deps.batches.cancel(tenant, id, deps.clock.now())) ?? batchMissing(id);
          deps.created();
          return json(x, 200, cancelled);
        }
      }
      throw noSuchEndpoint(x);
    } catch (err) {
      const e = toSluiceError(err);
      x.req.resume();
      if (e.code === 'SLUICE_ERR_CLIENT_CLOSED') return;
      logInternal(deps.logger, e, x.id);
      writeErrorBody(x.res, e, e.toBody(), x.id, x.base, null);
    }
  };
}

function fileMissing(id: string): never {
  throw new SluiceError('SLUICE_ERR_FILE_NOT_FOUND', { message: `No file with id ${JSON.stringify(id)}.` });
}

function batchMissing(id: string): never {
  throw new SluiceError('SLUICE_ERR_BATCH_NOT_FOUND', { message: `No batch with id ${JSON.stringify(id)}.` });
}

function json(x: FilesRequest, status: number, body: unknown): void {
  writeJson(x.res, status, JSON.stringify(body), x.id, x.base, null);
}

function raw(x: FilesRequest, content: Buffer): void {
  const headers: OutgoingHttpHeaders = { ...x.base, 'x-request-id': x.id, 'content-type': 'application/octet-stream', 'content-length': content.length };
  x.res.writeHead(200, headers);
  x.res.end(content);
}

function tooLarge(maxBytes: number): SluiceError {
  return new SluiceError('SLUICE_ERR_FILE_TOO_LARGE', { message: `The file is larger than the gateway accepts (files.maxBytes: ${maxBytes} bytes).` });
}

/** POST /v1/files: multipart/form-data with `file` and `purpose`, parsed by the platform's own FormData. */
async function upload(deps: BatchSurfaceDeps, x: FilesRequest, tenant: string): Promise<unknown> {
  const type = x.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    x.req.resume();
    throw new SluiceError('SLUICE_ERR_FILE_UPLOAD_INVALID', { message: 'The upload must be multipart/form-data with a "file" part and a "purpose" field.' });
  }
  let bytes: Buffer;
  try {
    bytes = await readAll(x.req, deps.maxBytes + MULTIPART_OVERHEAD);
  } catch (err) {
    throw toSluiceError(err).code === 'SLUICE_ERR_BODY_TOO_LARGE' ? tooLarge(deps.maxBytes) : err;
  }
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { 'content-type': type } }).formData();
  } catch {
    throw new SluiceError('SLUICE_ERR_FILE_UPLOAD_INVALID', { message: 'The multipart/form-data body could not be parsed.' });
  }
  const file = form.get('file');
  const purpose = form.get('purpose');
  if (file === null || typeof file === 'string') throw new SluiceError('SLUICE_ERR_FILE_UPLOAD_INVALID', { message: 'The upload has no "file" part.', param: 'file' });
  if (typeof purpose !== 'string') throw new SluiceError('SLUICE_ERR_FILE_UPLOAD_INVALID', { message: 'The upload has no "purpose" field.', param: 'purpose' });
  if (!UPLOAD_PURPOSES.has(purpose)) {
    throw new SluiceError('SLUICE_ERR_FILE_PURPOSE', { message: `The purpose ${JSON.stringify(purpose)} is not one of ${[...UPLOAD_PURPOSES].join(', ')}.`, param: 'purpose' });
  }
  if (file.size > deps.maxBytes) throw tooLarge(deps.maxBytes);
  const content = Buffer.from(await file.arrayBuffer());
  const filename = file.name === '' ? 'upload' : file.name;
  return deps.files.create(tenant, { purpose, filename, content });
}

/** POST /v1/batches: the input file is read and checked line by line; bad lines make a failed batch. */
async function createBatch(deps: BatchSurfaceDeps, x: FilesRequest, principal: Parameters<BatchStore['create']>[1]): Promise<unknown> {
  const body = parseJsonBody((await readAll(x.req, CREATE_LIMIT)).toString('utf8'));
  if (!isRecord(body)) throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'Invalid request: the body must be a JSON object.' });
  const { input_file_id: fileId, endpoint, completion_window: window, metadata } = body;
  if (typeof fileId !== 'string' || fileId === '') throw invalid('input_file_id', 'must be a file id');
  if (typeof endpoint !== 'string' || !BATCH_ENDPOINTS.has(endpoint)) throw invalid('endpoint', `must be one of ${[...BATCH_ENDPOINTS].join(', ')}`);
  const windowMs = typeof window === 'string' ? WINDOW_MS[window] : undefined;
  if (windowMs === undefined) throw invalid('completion_window', 'must be "24h"');
  if (metadata !== undefined && metadata !== null) {
    if (!isRecord(metadata) || Object.keys(metadata).length > 16 || Object.entries(metadata).some(([k, v]) => k.length > 64 || typeof v !== 'string' || v.length > 512)) {
      throw invalid('metadata', 'must be an object of at most 16 string values (keys up to 64 characters, values up to 512)');
    }
  }
  const tenant = principal.id;
  const file = await deps.files.content(tenant, fileId);
  if (file === null) throw new SluiceError('SLUICE_ERR_FILE_NOT_FOUND', { message: `No file with id ${JSON.stringify(fileId)}.`, param: 'input_file_id' });
  if (file.file.purpose !== 'batch') throw new SluiceError('SLUICE_ERR_FILE_PURPOSE', { message: `The input file's purpose is ${JSON.stringify(file.file.purpose)}; a batch needs a file uploaded with purpose "batch".`, param: 'input_file_id' });
  const input = parseInput(file.content, endpoint);
  const plan = deps.plan === null || input.errors.length > 0 ? null : deps.plan(endpoint, input.lines, principal);
  const batch = await deps.batches.create(tenant, principal, { endpoint, inputFileId: fileId, completionWindow: window as string, windowMs, metadata: (metadata ?? null) as Record<string, string> | null }, input, deps.clock.now(), plan);
  deps.created();
  return batch;
}
