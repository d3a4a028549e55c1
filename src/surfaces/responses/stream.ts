/**
 * OpenAI chat chunks → Responses API stream events, for streams on `POST /v1/responses`. Pure
 * apart from the item ids it makes: feed each chunk's JSON text as the adapter yields it, write
 * what it returns, then `finish()` once the chunks ended (response.completed or
 * response.incomplete) or `fail(err)` when they broke off (response.failed).
 *
 * Event order, as OpenAI sends it: response.created, response.in_progress, then per output item
 * output_item.added → (content_part.added → output_text.delta… → output_text.done →
 * content_part.done) or function_call_arguments.delta… → .done, or (a reasoning item, from an
 * upstream's `reasoning_content`) the same part events with reasoning_text deltas, then
 * output_item.done; items run
 * one after another, never interleaved. Every event carries `type` and a `sequence_number`
 * that counts from 0. Chat usage arrives in the last chunk, so only the final event has it.
 */
import type { SluiceError } from '../../errors.js';
import type { JsonObject } from '../../providers/types.js';
import { badResponse } from '../../providers/http/errors.js';
import { arr, isRecord, num, parseObject, str } from '../../providers/http/json.js';
import { itemId, outputText, reasoningItem, reasoningOf, responseEnd, responseShell, responsesUsage, type ResponseHead } from './response.js';

/** The output item being streamed: a message (its text or refusal part) or a function call. */
type OpenItem =
  | { kind: 'reasoning'; item: JsonObject; text: string }
  | { kind: 'message'; item: JsonObject; part: 'text' | 'refusal'; text: string }
  | { kind: 'call'; index: number; item: JsonObject; args: string }
  | null;

export class ChatToResponsesStream {
  readonly #head: ResponseHead;
  #sequence = 0;
  #started = false;
  #open: OpenItem = null;
  readonly #output: JsonObject[] = [];
  readonly #seenCalls = new Set<number>();
  #finishReason: unknown = null;
  #usage: unknown = null;
  #ended = false;

  constructor(head: ResponseHead) {
    this.#head = head;
  }

  /** The SSE text for one chat chunk (JSON text); often empty. */
  push(chunkJson: string): string {
    const chunk = parseObject(chunkJson);
    if (chunk === null) throw badResponse('upstream', 'a stream chunk that is not a JSON object');
    let out = this.#start();
    if (isRecord(chunk.usage)) this.#usage = chunk.usage;
    const choice = arr(chunk.choices).find((c) => isRecord(c) && (num(c.index) ?? 0) === 0);
    if (!isRecord(choice)) return out;
    const delta = isRecord(choice.delta) ? choice.delta : {};
    const reasoning = reasoningOf(delta);
    if (reasoning !== null) out += this.#reasoning(reasoning);
    const text = str(delta.content);
    if (text !== null && text !== '') out += this.#text('text', text);
    const refusal = str(delta.refusal);
    if (refusal !== null && refusal !== '') out += this.#text('refusal', refusal);
    for (const call of arr(delta.tool_calls)) if (isRecord(call)) out += this.#toolCall(call);
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) this.#finishReason = choice.finish_reason;
    return out;
  }

  /** The closing events: the open item's, then response.completed (or .incomplete) with usage. */
  finish(): { sse: string; response: JsonObject } {
    let out = this.#start() + this.#close();
    const end = responseEnd(this.#finishReason);
    const response = this.#response(end.status);
    response.incomplete_details = end.incomplete;
    this.#ended = true;
    out += this.#event(end.status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
    return { sse: out, response };
  }

  /** After a failure: the open item closed as incomplete, then response.failed naming the error. */
  fail(err: SluiceError): { sse: string; response: JsonObject } {
    let out = this.#start() + this.#close('incomplete');
    const response = this.#response('failed');
    response.error = { code: err.code, message: err.message };
    this.#ended = true;
    out += this.#event('response.failed', { response });
    return { sse: out, response };
  }

  get ended(): boolean {
    return this.#ended;
  }

  #response(status: string): JsonObject {
    const response = responseShell(this.#head, status);
    response.output = this.#output;
    response.usage = this.#usage === null ? null : responsesUsage(this.#usage);
    return response;
  }

  #event(type: string, data: JsonObject): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.#sequence++, ...data })}\n\n`;
  }

  #start(): string {
    if (this.#started) return '';
    this.#started = true;
    const response = responseShell(this.#head, 'in_progress');
    return this.#event('response.created', { response }) + this.#event('response.in_progress', { response });
  }

  #text(part: 'text' | 'refusal', delta: string): string {
    let out = '';
    const open = this.#open;
    if (open === null || open.kind !== 'message' || open.part !== part) {
      out += this.#close();
      const item: JsonObject = { id: itemId('msg'), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
      this.#open = { kind: 'message', item, part, text: '' };
      out += this.#event('response.output_item.added', { output_index: this.#output.length, item });
      out += this.#event('response.content_part.added', { item_id: item.id, output_index: this.#output.length, content_index: 0, part: this.#part(part, '') });
    }
    const msg = this.#open as Extract<OpenItem, { kind: 'message' }>;
    msg.text += delta;
    const at = { item_id: msg.item.id, output_index: this.#output.length, content_index: 0 };
    out += part === 'text' ? this.#event('response.output_text.delta', { ...at, delta, logprobs: [] }) : this.#event('response.refusal.delta', { ...at, delta });
    return out;
  }

  #reasoning(delta: string): string {
    let out = '';
    if (this.#open?.kind !== 'reasoning') {
      out += this.#close();
      const item: JsonObject = { id: itemId('rs'), type: 'reasoning', summary: [], content: [], status: 'in_progress' };
      this.#open = { kind: 'reasoning', item, text: '' };
      out += this.#event('response.output_item.added', { output_index: this.#output.length, item });
      out += this.#event('response.content_part.added', { item_id: item.id, output_index: this.#output.length, content_index: 0, part: { type: 'reasoning_text', text: '' } });
    }
    const open = this.#open as Extract<OpenItem, { kind: 'reasoning' }>;
    open.text += delta;
    return out + this.#event('response.reasoning_text.delta', { item_id: open.item.id, output_index: this.#output.length, content_index: 0, delta });
  }

  #part(part: 'text' | 'refusal', text: string): JsonObject {
    return part === 'text' ? outputText(text) : { type: 'refusal', refusal: text };
  }

  #toolCall(call: JsonObject): string {
    let out = '';
    const index = num(call.index) ?? 0;
    const fn = isRecord(call.function) ? call.function : {};
    const open = this.#open;
    if (open === null || open.kind !== 'call' || open.index !== index) {
      // Items cannot be reopened; OpenAI sends each call's fragments together, so this is a broken stream.
      if (this.#seenCalls.has(index)) throw badResponse('upstream', `interleaved fragments of tool call ${index}`);
      this.#seenCalls.add(index);
      out += this.#close();
      const item: JsonObject = { id: itemId('fc'), type: 'function_call', status: 'in_progress', call_id: str(call.id) ?? itemId('call'), name: str(fn.name) ?? '', arguments: '' };
      this.#open = { kind: 'call', index, item, args: '' };
      out += this.#event('response.output_item.added', { output_index: this.#output.length, item });
    }
    const current = this.#open as Extract<OpenItem, { kind: 'call' }>;
    const delta = str(fn.arguments);
    if (delta !== null && delta !== '') {
      current.args += delta;
      out += this.#event('response.function_call_arguments.delta', { item_id: current.item.id, output_index: this.#output.length, delta });
    }
    return out;
  }

  /** Closes the open item (its done events) and adds it to the output. */
  #close(status: 'completed' | 'incomplete' = 'completed'): string {
    const open = this.#open;
    if (open === null) return '';
    this.#open = null;
    const outputIndex = this.#output.length;
    let out = '';
    let item: JsonObject;
    if (open.kind === 'reasoning') {
      const at = { item_id: open.item.id, output_index: outputIndex, content_index: 0 };
      out += this.#event('response.reasoning_text.done', { ...at, text: open.text });
      out += this.#event('response.content_part.done', { ...at, part: { type: 'reasoning_text', text: open.text } });
      item = reasoningItem(String(open.item.id), open.text, status);
    } else if (open.kind === 'message') {
      const at = { item_id: open.item.id, output_index: outputIndex, content_index: 0 };
      out += open.part === 'text' ? this.#event('response.output_text.done', { ...at, text: open.text, logprobs: [] }) : this.#event('response.refusal.done', { ...at, refusal: open.text });
      const part = this.#part(open.part, open.text);
      out += this.#event('response.content_part.done', { ...at, part });
      item = { ...open.item, status, content: [part] };
    } else {
      out += this.#event('response.function_call_arguments.done', { item_id: open.item.id, name: open.item.name, output_index: outputIndex, arguments: open.args });
      item = { ...open.item, status, arguments: open.args };
    }
    this.#output.push(item);
    out += this.#event('response.output_item.done', { output_index: outputIndex, item });
    return out;
  }
}
