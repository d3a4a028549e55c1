import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';

/**
 * Requests to a gateway under test, written once (issue 17: the `chat()` helper was declared
 * again in about fifteen test files). A test binds its own defaults (model, prompt, key) in a
 * one-line arrow; how a request is sent and its answer read lives here.
 */

/** A gateway (anything with a base URL, such as `TestGateway`) or a base URL. */
export type Base = string | { readonly url: string };

export interface SendInit {
  /** Default: POST when there is a body, GET otherwise. */
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  /**
   * A string, bytes or a stream are sent as they are (a stream chunked, without a length);
   * anything else is sent as JSON with `content-type: application/json`.
   */
  readonly body?: unknown;
  /** Sent as `authorization: Bearer <token>`; null or absent sends none. */
  readonly bearer?: string | null;
  /** Added last, so they override the content type and authorization above. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly dispatcher?: Dispatcher;
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export interface JsonReply<T> extends Reply {
  /** The body parsed with `JSON.parse`: a body that is not JSON fails the request, as it should. */
  readonly json: T;
}

/** An OpenAI-shaped error, as every gateway error is. */
export interface ApiError {
  readonly code: string;
  readonly message: string;
  readonly type: string;
  readonly param: string | null;
}

/** What a test reads from a JSON answer: the error, the usage, and anything else by name. */
export type ApiJson = Record<string, unknown> & {
  readonly error?: ApiError;
  readonly usage?: { readonly prompt_tokens: number; readonly completion_tokens: number; readonly total_tokens: number };
};

export const CHAT_PATH = '/v1/chat/completions';

const baseUrl = (base: Base): string => (typeof base === 'string' ? base : base.url);

/** Sends one request and reads the whole answer as text. */
export async function send(base: Base, path: string, init: SendInit = {}): Promise<Reply> {
  const raw = typeof init.body === 'string' || init.body instanceof Uint8Array || init.body instanceof Readable;
  const json = init.body !== undefined && !raw;
  const headers: Record<string, string> = {};
  if (json) headers['content-type'] = 'application/json';
  if (init.bearer !== undefined && init.bearer !== null) headers.authorization = `Bearer ${init.bearer}`;
  Object.assign(headers, init.headers);
  const res = await request(baseUrl(base) + path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body === undefined ? {} : { body: json ? JSON.stringify(init.body) : (init.body as string | Uint8Array | Readable) }),
    ...(init.dispatcher === undefined ? {} : { dispatcher: init.dispatcher }),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** `send`, then the body parsed as JSON (throws when it is not). */
export async function sendJson<T = ApiJson>(base: Base, path: string, init: SendInit = {}): Promise<JsonReply<T>> {
  const reply = await send(base, path, init);
  return { ...reply, json: JSON.parse(reply.text) as T };
}

export type ChatInit = Omit<SendInit, 'method' | 'body'>;

/**
 * POSTs a chat completion (`body` as JSON, with a JSON content type even when it is a string,
 * as a client's SDK sends it) and reads the answer as text: a stream, or JSON.
 */
export function chat(base: Base, body: unknown, init: ChatInit = {}): Promise<Reply> {
  return send(base, CHAT_PATH, { ...init, method: 'POST', body, headers: { 'content-type': 'application/json', ...init.headers } });
}

/** `chat`, then the answer parsed as JSON (throws when it is not, e.g. a stream). */
export async function chatJson<T = ApiJson>(base: Base, body: unknown, init: ChatInit = {}): Promise<JsonReply<T>> {
  const reply = await chat(base, body, init);
  return { ...reply, json: JSON.parse(reply.text) as T };
}

/** The body as JSON when it is a JSON object, else `{}` (a stream, a plain-text error). */
export function looseJson<T = ApiJson>(text: string): T {
  return JSON.parse(text.startsWith('{') ? text : '{}') as T;
}

/** The response cache's verdict on an answer (`hit`, `miss`, `coalesced`, …). */
export const cacheOf = (reply: Reply): string | undefined => reply.headers['x-sluice-cache'] as string | undefined;

/** A one-message chat body: `{ model, messages: [{ role: 'user', content }], ...extra }`. */
export function chatBody(model: string, content: string, extra: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return { model, messages: [{ role: 'user', content }], ...extra };
}
