/**
 * The Responses API as a dialect (surfaces/dialect.ts): stateful, so it translates only once
 * the caller is known (`bind`): `previous_response_id` continues the caller's own stored
 * conversation, and the answer is kept for the caller when `store` is on. Each request gets its
 * own ResponsesExchange, which answers it (JSON or stream, translated from chat or, from a
 * provider that speaks the Responses API, passed through: native.ts) and keeps what it answered.
 */
import type { Principal } from '../../exchange/principal.js';
import type { RequestContext } from '../../exchange/context.js';
import { SluiceError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import type { ResponsesStore } from '../../db/responses.js';
import type { Endpoint, JsonObject } from '../../providers/types.js';
import type { BoundDialect, Dialect, NativeDialect, StreamFraming } from '../dialect.js';
import { validateBody } from '../validate.js';
import { isRecord, parseObject } from '../../providers/http/json.js';
import { chatBody, historyToMessages, messagesToItems, passThroughTurn, responsesRequestToTurn, turnOf, unsupportedOnResponses, type ResponsesTurn } from './request.js';
import { parseResponsesRequest } from './schema.js';
import { NativeResponsesFraming, upstreamRequest } from './native.js';
import { chatCompletionToResponse, itemId, type ResponseHead } from './response.js';
import { ChatToResponsesStream } from './stream.js';

const CHAT: ReadonlySet<Endpoint> = new Set(['chat']);

/** The input items as kept and listed: each with an id, string content as an input_text part. */
function itemsWithIds(items: readonly JsonObject[]): JsonObject[] {
  return items.map((item) => {
    const type = item.type ?? 'message';
    if (type !== 'message') return { id: item.id ?? itemId(type === 'function_call' ? 'fc' : 'fco'), ...item };
    const content = typeof item.content === 'string' ? [{ type: item.role === 'assistant' ? 'output_text' : 'input_text', text: item.content }] : item.content;
    return { id: item.id ?? itemId('msg'), type: 'message', status: 'completed', role: item.role, content };
  });
}

/** What one request on /v1/responses was bound to. */
interface ExchangeParts {
  readonly turn: ResponsesTurn;
  readonly head: ResponseHead;
  readonly tenant: string;
  /** Null when the answer is not kept. */
  readonly store: ResponsesStore | null;
  /** The canonical (chat) body. */
  readonly body: JsonObject;
}

/** One request on /v1/responses, bound to its caller. */
class ResponsesExchange implements Dialect {
  readonly body: JsonObject;
  readonly #head: ResponseHead;
  readonly #turn: ResponsesTurn;
  readonly #tenant: string;
  readonly #store: ResponsesStore | null;
  #native: ExchangeNative | null = null;

  constructor(parts: ExchangeParts) {
    this.#turn = parts.turn;
    this.#head = parts.head;
    this.#tenant = parts.tenant;
    this.#store = parts.store;
    this.body = parts.body;
  }

  /** For a target that takes the Responses API itself (issue 18): its answer is written as it came, and kept here. Made when first asked for. */
  get native(): NativeDialect {
    return (this.#native ??= new ExchangeNative(this));
  }

  /** Whether what is answered is kept. */
  get keeps(): boolean {
    return this.#store !== null;
  }

  request(): JsonObject {
    return this.body;
  }

  json(body: string, ctx: RequestContext): string {
    const response = chatCompletionToResponse(JSON.parse(body) as unknown, this.#head, ctx.target?.provider);
    this.keep(response);
    return JSON.stringify(response);
  }

  framing(): StreamFraming {
    return new ResponsesFraming(new ChatToResponsesStream(this.#head), this);
  }

  errorBody(err: SluiceError): unknown {
    return err.toBody();
  }

  /** Stores a translated turn's response (when `store` is on and a database is there). */
  keep(response: JsonObject): void {
    this.#put(this.#head.id, response, response.output);
  }

  /**
   * Stores a passed-through turn's response under the upstream's id, as the client got it
   * except `store` and `previous_response_id`, which say what Sluice did (the upstream was
   * sent `store: false` and the expanded conversation). Only a finished response is kept.
   */
  keepNative(response: JsonObject): void {
    if (this.#store === null || (response.status !== 'completed' && response.status !== 'incomplete')) return;
    const id = typeof response.id === 'string' && response.id !== '' ? response.id : this.#head.id;
    this.#put(id, { ...response, store: true, previous_response_id: this.#head.request.previous_response_id ?? null }, response.output);
  }

  #put(id: string, response: JsonObject, output: unknown): void {
    if (this.#store === null) return;
    const items = [...this.#turn.items, ...(Array.isArray(output) ? output.filter(isRecord) : [])];
    const previous = this.#head.request.previous_response_id;
    this.#store.put(this.#tenant, { id, response, inputItems: itemsWithIds(this.#turn.items), items, previous: typeof previous === 'string' ? previous : null });
  }
}

/** The pass-through side of one exchange (NativeDialect): its framing, and the JSON answer kept. */
class ExchangeNative implements NativeDialect {
  readonly schema = 'openai-responses';
  readonly endpoints = CHAT;
  readonly #exchange: ResponsesExchange;
  #framing: NativeResponsesFraming | null = null;

  constructor(exchange: ResponsesExchange) {
    this.#exchange = exchange;
  }

  get framing(): StreamFraming {
    return (this.#framing ??= new NativeResponsesFraming(this.#exchange.keeps ? this.#exchange : null));
  }

  request(): { body: JsonObject; refusal: SluiceError | null } {
    return { body: this.#exchange.body, refusal: null };
  }

  answered(body: string): void {
    if (!this.#exchange.keeps) return;
    const response = parseObject(body);
    if (response !== null) this.#exchange.keepNative(response);
  }
}

class ResponsesFraming implements StreamFraming {
  readonly #stream: ChatToResponsesStream;
  readonly #exchange: ResponsesExchange;

  constructor(stream: ChatToResponsesStream, exchange: ResponsesExchange) {
    this.#stream = stream;
    this.#exchange = exchange;
  }

  chunk(json: string): string {
    return this.#stream.push(json);
  }

  end(): string {
    const { sse, response } = this.#stream.finish();
    this.#exchange.keep(response);
    return sse;
  }

  error(err: SluiceError): string {
    if (this.#stream.ended) return '';
    return this.#stream.fail(err).sse;
  }
}

/**
 * `POST /v1/responses`. `store` (OpenAI's default: on) keeps the answer when the gateway has a
 * database and is ignored without one (the response then says `store: false`).
 */
export class ResponsesDialect implements Dialect {
  readonly #store: ResponsesStore | null;
  readonly #clock: Clock;

  constructor(store: ResponsesStore | null, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Translates without earlier turns; the endpoint calls `bind` instead, once the caller is known. */
  request(_endpoint: Endpoint, body: unknown): JsonObject {
    return validateBody('chat', chatBody(responsesRequestToTurn(body), []));
  }

  /**
   * Binds a request to its caller: earlier turns are the caller's own stored ones. The chat body
   * routes; a target that takes the Responses API itself gets the client's body instead (with
   * `store: false` and the conversation expanded, native.ts), so what chat cannot carry is
   * refused only by targets that need the translation.
   */
  async bind(client: unknown, principal: Principal): Promise<BoundDialect> {
    const request = parseResponsesRequest(client);
    // Upstream state is never used (native.ts), and Sluice runs nothing in the background.
    if (request.background === true) throw unsupportedOnResponses('background', 'background responses');
    // An upstream conversation is state every tenant behind the provider's key could name: Sluice keeps conversations itself.
    if (request.conversation !== undefined && request.conversation !== null) throw unsupportedOnResponses('conversation', 'conversations stored upstream (Sluice keeps conversations itself: use previous_response_id)');
    const previous = request.previous_response_id;
    let earlier: JsonObject[] | null = null;
    let earlierMessages: JsonObject[] = [];
    if (typeof previous === 'string') {
      if (this.#store === null) throw new SluiceError('SLUICE_ERR_RESPONSES_NOT_STORED', { param: 'previous_response_id' });
      const parts = await this.#store.conversation(principal.id, previous);
      if (parts === null) throw new SluiceError('SLUICE_ERR_RESPONSE_NOT_FOUND', { message: `No stored response with id ${JSON.stringify(previous)}.`, param: 'previous_response_id' });
      // A row written before migration 9 has the conversation up to it as chat messages only.
      const only = parts.length === 1 ? parts[0]! : null;
      earlier = parts.flatMap((p) => p.items ?? messagesToItems(p.messages));
      earlierMessages = only !== null && only.items === null ? only.messages : historyToMessages(earlier);
    }
    let turn: ResponsesTurn;
    let body: JsonObject;
    let refusal: SluiceError | null = null;
    try {
      turn = turnOf(request);
      body = validateBody('chat', chatBody(turn, earlierMessages));
    } catch (err) {
      if (!(err instanceof SluiceError)) throw err;
      refusal = err;
      turn = passThroughTurn(request);
      body = validateBody('chat', chatBody(turn, earlierMessages));
    }
    if (turn.items.length === 0 && (earlier === null || earlier.length === 0)) {
      throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'Invalid request: "input" is required.', param: 'input' });
    }
    const store = request.store !== false && this.#store !== null;
    const head: ResponseHead = { id: itemId('resp'), createdAt: Math.floor(this.#clock.now() / 1000), request, store };
    const exchange = new ResponsesExchange({ turn, head, tenant: principal.id, store: store ? this.#store : null, body });
    const native = upstreamRequest(client as JsonObject, earlier, store && request.reasoning !== undefined && request.reasoning !== null);
    return { body, dialect: exchange, native: { body: native, refusal } };
  }

  json(): string {
    throw new SluiceError('SLUICE_ERR_INTERNAL', { message: 'A /v1/responses request was answered without being bound to its caller.' });
  }

  framing(): StreamFraming {
    throw new SluiceError('SLUICE_ERR_INTERNAL', { message: 'A /v1/responses request was answered without being bound to its caller.' });
  }

  errorBody(err: SluiceError): unknown {
    return err.toBody();
  }
}
