import type { IncomingMessage } from 'node:http';
import sjson from 'secure-json-parse';
import { SluiceError } from '../errors.js';
import { MAX_JSON_DEPTH, valueTooDeep } from '../lib/text.js';

/** Why a body could not be read: a coded error to answer, or 'gone' (the client left: no one to answer). */
export type BodyFailure = SluiceError | 'gone';

export function bodyTooLarge(limit: number): SluiceError {
  return new SluiceError('SLUICE_ERR_BODY_TOO_LARGE', { message: `The request body is larger than the limit of ${limit} bytes.` });
}

function lengthMismatch(): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'The Content-Length header does not match the body.' });
}

function invalidJson(why: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_JSON', { message: `The request body is not valid JSON: ${why}` });
}

const NO_BYTES = Buffer.alloc(0);

/**
 * Reads a body of at most `limit` bytes as UTF-8 text (readBytes, decoded once at the end, so
 * a character split across chunks stays whole).
 */
export function readBody(req: IncomingMessage, limit: number, done: (err: BodyFailure | null, text: string) => void): void {
  readBytes(req, limit, (err, bytes) => done(err, err === null ? bytes.toString('utf8') : ''));
}

/**
 * Reads a body of at most `limit` bytes: a declared Content-Length over the limit is refused
 * before reading, a body growing past it while read, and a body whose length differs from its
 * Content-Length after. 'gone' when the request stream failed: the client left (an aborted
 * upload), and there is no one to answer.
 */
export function readBytes(req: IncomingMessage, limit: number, done: (err: BodyFailure | null, bytes: Buffer) => void): void {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    done(bodyTooLarge(limit), NO_BYTES);
    return;
  }
  let first: Buffer | null = null;
  let rest: Buffer[] | null = null;
  let received = 0;
  const stop = (): void => {
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    req.removeListener('error', onError);
  };
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    if (received > limit) {
      stop();
      done(bodyTooLarge(limit), NO_BYTES);
      return;
    }
    if (first === null) first = chunk;
    else (rest ??= [first]).push(chunk);
  };
  const onEnd = (): void => {
    stop();
    if (!Number.isNaN(declared) && received !== declared) {
      done(lengthMismatch(), NO_BYTES);
      return;
    }
    done(null, rest !== null ? Buffer.concat(rest, received) : (first ?? NO_BYTES));
  };
  const onError = (): void => {
    stop();
    done('gone', NO_BYTES);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
}

/** Whether a request declares no body at all: no content type, no length (or 0), not chunked. */
export function hasNoBody(req: IncomingMessage): boolean {
  const h = req.headers;
  return h['content-type'] === undefined && h['transfer-encoding'] === undefined && (h['content-length'] === undefined || h['content-length'] === '0');
}

/**
 * Whether a body is declared plain text (`text/plain`, any parameters): such a body is handed
 * over as text, not parsed, and a model endpoint refuses it as not a JSON object, as it did
 * when fastify's text parser read it. Any other type is parsed as JSON.
 */
export function isPlainText(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.length < 10) return false;
  const c = contentType.charCodeAt(0);
  if (c !== 116 && c !== 84) return false; // 't' or 'T': the common case (application/json) stops here
  const type = contentType.slice(0, 10).toLowerCase();
  return type === 'text/plain' && (contentType.length === 10 || contentType[10] === ';' || contentType[10] === ' ');
}

const PARSE_OPTIONS = { protoAction: 'error', constructorAction: 'ignore' } as const;

/**
 * A model request's JSON body: secure-json-parse (`__proto__` refused), the nesting depth
 * bounded. The edge hands its text on with it (`ModelExchange.text`, via bodyTextOf) so
 * adapters can forward the body as it came instead of serialising the parsed object again.
 * Whatever the content type but text/plain:
 * clients that post JSON as a form (curl -d) are served all the same.
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw invalidJson("Body cannot be empty when content-type is set to 'application/json'");
  let value: unknown;
  try {
    value = sjson.parse(text, null, PARSE_OPTIONS);
  } catch {
    throw invalidJson("Body is not valid JSON but content-type is set to 'application/json'");
  }
  // Bounded before anything walks the body (estimates, cache keys, schemas recurse on it).
  // JSON.parse itself is not recursive; the check walks the parsed containers with a stack:
  // ~1.4 us for a chat body, where a scan of the text cost more than the parse (issue 15).
  if (valueTooDeep(value, MAX_JSON_DEPTH)) {
    throw new SluiceError('SLUICE_ERR_JSON_TOO_DEEP', { message: `The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep.` });
  }
  return value;
}

/** The body text as adapters forward it: without a leading BOM (which the parser skipped). */
export function bodyTextOf(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
