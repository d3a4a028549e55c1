/**
 * The Responses API as a dialect (surfaces/dialect.ts): stateful, so it translates only once
 * the caller is known (`bind`): `previous_response_id` continues the caller's own stored
 * conversation, and the answer is kept for the caller when `store` is on. Each request gets its
 * own ResponsesExchange, which answers it (JSON or stream) and keeps what it answered.
 */
import type { Principal } from '../../exchange/principal.js';
import type { RequestContext } from '../../exchange/context.js';
import { SluiceError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import type { ResponsesStore } from '../../db/responses.js';
import type { Endpoint, JsonObject } from '../../providers/types.js';
import type { BoundDialect, Dialect, StreamFraming } from '../dialect.js';
import { validateBody } from '../validate.js';
import { chatBody, itemsToMessages, responsesRequestToTurn, type ResponsesTurn } from './request.js';
import { chatCompletionToResponse, itemId, type ResponseHead } from './response.js';
import { ChatToResponsesStream } from './stream.js';

/** The input items as kept and listed: each with an id, string content as an input_text part. */
function itemsWithIds(items: readonly JsonObject[]): JsonObject[] {
  return items.map((item) => {
    const type = item.type ?? 'message';
    if (type !== 'message') return { id: item.id ?? itemId(type === 'function_call' ? 'fc' : 'fco'), ...item };
    const content = typeof item.content === 'string' ? [{ type: item.role === 'assistant' ? 'output_text' : 'input_text', text: item.content }] : item.content;
    return { id: item.id ?? itemId('msg'), type: 'message', status: 'completed', role: item.role, content };
  });
}

/** One request on /v1/responses, bound to its caller. */
class ResponsesExchange implements Dialect {
  readonly body: JsonObject;
  readonly #head: ResponseHead;
  readonly #turn: ResponsesTurn;
  readonly #earlier: readonly JsonObject[];
  readonly #tenant: string;
  readonly #store: ResponsesStore | null;

  constructor(turn: ResponsesTurn, earlier: readonly JsonObject[], head: ResponseHead, tenant: string, store: ResponsesStore | null) {
    this.#turn = turn;
    this.#earlier = earlier;
    this.#head = head;
    this.#tenant = tenant;
    this.#store = head.store ? store : null;
    this.body = validateBody('chat', chatBody(turn, earlier));
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

  /** Stores the finished response (when `store` is on and a database is there). */
  keep(response: JsonObject): void {
    if (this.#store === null) return;
    const output = Array.isArray(response.output) ? (response.output as JsonObject[]) : [];
    const messages = [...this.#earlier, ...this.#turn.messages, ...itemsToMessages(output)];
    this.#store.put(this.#tenant, { id: this.#head.id, response, inputItems: itemsWithIds(this.#turn.items), messages });
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

  async bind(client: unknown, principal: Principal): Promise<BoundDialect> {
    const turn = responsesRequestToTurn(client);
    const previous = turn.request.previous_response_id;
    let earlier: JsonObject[] = [];
    if (typeof previous === 'string') {
      if (this.#store === null) throw new SluiceError('SLUICE_ERR_RESPONSES_NOT_STORED', { param: 'previous_response_id' });
      const stored = await this.#store.get(principal.id, previous);
      if (stored === null) throw new SluiceError('SLUICE_ERR_RESPONSE_NOT_FOUND', { message: `No stored response with id ${JSON.stringify(previous)}.`, param: 'previous_response_id' });
      earlier = stored.messages;
    }
    if (turn.messages.length === 0 && earlier.length === 0) {
      throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'Invalid request: "input" is required.', param: 'input' });
    }
    const head: ResponseHead = { id: itemId('resp'), createdAt: Math.floor(this.#clock.now() / 1000), request: turn.request, store: turn.request.store !== false && this.#store !== null };
    const exchange = new ResponsesExchange(turn, earlier, head, principal.id, this.#store);
    return { body: exchange.body, dialect: exchange };
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
