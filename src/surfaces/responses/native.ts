/**
 * The Responses API passed through to a provider that speaks it (issue 18; docs/providers.md,
 * "Responses API pass-through"). Sluice stays the only store: the upstream always gets
 * `store: false` and, instead of `previous_response_id`, the whole conversation as input items
 * (as Sluice kept them, translated turns and passed-through ones alike), so a conversation can
 * move between a passed-through and a translated provider in either direction. Pure.
 */
import type { SluiceError } from '../../errors.js';
import type { JsonObject } from '../../providers/types.js';
import { isRecord, parseObject } from '../../providers/http/json.js';
import type { StreamFraming } from '../dialect.js';

/** Item types whose `id` is dropped before they go upstream again: optional there, and an id the upstream never stored must not be looked up. */
const ID_OPTIONAL: ReadonlySet<unknown> = new Set(['message', 'function_call', 'function_call_output', undefined]);

/**
 * Earlier turns' items as an upstream without state takes them: a reasoning item without
 * `encrypted_content` (from a translated turn, or a turn that did not ask for reasoning) cannot
 * be resent without the upstream's state, so it is left out; messages and function calls go
 * without their ids.
 */
export function earlierForUpstream(items: readonly JsonObject[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const item of items) {
    if (item.type === 'reasoning' && typeof item.encrypted_content !== 'string') continue;
    if (ID_OPTIONAL.has(item.type) && 'id' in item) {
      const { id: _id, ...rest } = item;
      out.push(rest);
    } else out.push(item);
  }
  return out;
}

/**
 * The body a Responses-speaking provider gets: the client's, except `store: false`, earlier
 * turns (when the client continued one) expanded in front of its input instead of
 * `previous_response_id`, and `include: ["reasoning.encrypted_content"]` added when the turn
 * is kept and asks for reasoning, so its reasoning can be given back in later turns. The
 * client's own object when nothing needed changing. The model is set by the adapter.
 */
export function upstreamRequest(client: JsonObject, earlier: readonly JsonObject[] | null, keepReasoning: boolean): JsonObject {
  if (client.store === false && earlier === null && !keepReasoning && !('previous_response_id' in client)) return client;
  const body: JsonObject = { ...client };
  delete body.previous_response_id;
  if (earlier !== null) {
    const input = client.input;
    const current = typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : Array.isArray(input) ? input : [];
    body.input = [...earlierForUpstream(earlier), ...current];
  }
  body.store = false;
  if (keepReasoning) {
    const include = Array.isArray(client.include) ? client.include : [];
    if (!include.includes('reasoning.encrypted_content')) body.include = [...include, 'reasoning.encrypted_content'];
  }
  return body;
}

/** The `data` of one SSE frame (its data lines joined). */
function dataOf(frame: string): string {
  let out = '';
  for (const line of frame.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    out = out === '' ? value : `${out}\n${value}`;
  }
  return out;
}

/** The event type of one frame: its `event:` line, else the data's `type`. */
function typeOf(frame: string): { type: string; data: JsonObject | null } {
  if (frame.startsWith('event: ')) return { type: frame.slice(7, frame.indexOf('\n')), data: null };
  const data = parseObject(dataOf(frame));
  return { type: typeof data?.type === 'string' ? data.type : '', data };
}

/**
 * Writes a passed-through Responses stream: each frame as the upstream sent it. The final
 * response (response.completed or response.incomplete) is handed to its keeper. A stream that
 * breaks off without a terminal event of its own ends with an `error` event, as OpenAI's do.
 */
/** Who keeps a passed-through response (the exchange that answered it). */
export interface NativeKeeper {
  keepNative(response: JsonObject): void;
}

export class NativeResponsesFraming implements StreamFraming {
  /** Null when the response is not kept: the final event is then not parsed. */
  readonly #keeper: NativeKeeper | null;
  #events = 0;
  #ended = false;

  constructor(keeper: NativeKeeper | null) {
    this.#keeper = keeper;
  }

  chunk(frame: string): string {
    this.#events++;
    const { type, data } = typeOf(frame);
    if (type === 'response.completed' || type === 'response.incomplete') {
      const event = this.#keeper === null ? null : (data ?? parseObject(dataOf(frame)));
      if (event !== null && isRecord(event.response)) this.#keeper!.keepNative(event.response);
      this.#ended = true;
    } else if (type === 'response.failed' || type === 'error') {
      this.#ended = true;
    }
    return frame;
  }

  end(): string {
    return '';
  }

  error(err: SluiceError): string {
    if (this.#ended) return '';
    this.#ended = true;
    return `event: error\ndata: ${JSON.stringify({ type: 'error', code: err.code, message: err.message, param: null, sequence_number: this.#events })}\n\n`;
  }
}
