/**
 * OpenAI chunks → Anthropic stream events, for streams on `POST /v1/messages`. Pure: feed it
 * each chunk's JSON text as the adapter yields it, write what it returns, and call `finish()`
 * once the chunks ended normally. On a failure write `anthropicErrorEvent(err)` instead.
 *
 * Anthropic numbers content blocks and streams them one after another (start, deltas, stop),
 * so a text run or a tool call opens a block and the next one closes it. OpenAI reports usage
 * only at the end, so `message_start` says 0 input tokens and `message_delta` carries the
 * totals, which Anthropic's SDKs take as the final usage.
 */
import { badResponse } from '../../providers/http/errors.js';
import { arr, isRecord, num, parseObject, str } from '../../providers/http/json.js';
import { anthropicMessageId, anthropicUsageFromOpenAI, stopReasonFromOpenAI, type AnthropicStopReason } from './response.js';

type OpenBlock = { kind: 'text' } | { kind: 'tool'; call: number } | null;

/** One SSE event as Anthropic writes it: the event name, and the same name as `type` in the data. */
export function anthropicEvent(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

export class OpenAIToAnthropicStream {
  readonly #model: string;
  #started = false;
  #next = 0;
  #open: OpenBlock = null;
  readonly #toolBlocks = new Map<number, number>();
  #stop: AnthropicStopReason | null = null;
  #usage: unknown = null;
  #finished = false;

  /** `requestedModel` is the model the client asked for, reported in message_start. */
  constructor(requestedModel: string) {
    this.#model = requestedModel;
  }

  /** The events for one OpenAI chunk (JSON text), in order; often empty. */
  push(chunkJson: string): string[] {
    const chunk = parseObject(chunkJson);
    if (chunk === null) throw badResponse('upstream', 'a stream chunk that is not a JSON object');
    const out: string[] = [];
    if (!this.#started) this.#start(chunk.id, out);
    if (isRecord(chunk.usage)) this.#usage = chunk.usage;
    const choice = arr(chunk.choices).find((c) => isRecord(c) && (num(c.index) ?? 0) === 0);
    if (!isRecord(choice)) return out;
    const delta = isRecord(choice.delta) ? choice.delta : {};
    for (const text of [str(delta.content), str(delta.refusal)]) {
      if (text === null || text === '') continue;
      if (this.#open?.kind !== 'text') this.#openBlock({ kind: 'text' }, { type: 'text', text: '' }, out);
      out.push(anthropicEvent('content_block_delta', { index: this.#next - 1, delta: { type: 'text_delta', text } }));
    }
    if (str(delta.refusal) !== null) this.#stop = 'refusal';
    for (const call of arr(delta.tool_calls)) if (isRecord(call)) this.#toolCall(call, out);
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
      this.#stop ??= stopReasonFromOpenAI(choice.finish_reason);
      this.#closeBlock(out);
    }
    return out;
  }

  /** The closing events: the last block's stop, message_delta (stop reason, usage), message_stop. */
  finish(): string[] {
    if (this.#finished) return [];
    this.#finished = true;
    const out: string[] = [];
    if (!this.#started) this.#start(null, out);
    this.#closeBlock(out);
    out.push(anthropicEvent('message_delta', { delta: { stop_reason: this.#stop ?? 'end_turn', stop_sequence: null }, usage: anthropicUsageFromOpenAI(this.#usage) }));
    out.push(anthropicEvent('message_stop', {}));
    return out;
  }

  #start(id: unknown, out: string[]): void {
    this.#started = true;
    const message = {
      id: anthropicMessageId(id),
      type: 'message',
      role: 'assistant',
      model: this.#model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    };
    out.push(anthropicEvent('message_start', { message }));
  }

  #toolCall(call: Record<string, unknown>, out: string[]): void {
    const index = num(call.index) ?? 0;
    const fn = isRecord(call.function) ? call.function : {};
    let block = this.#toolBlocks.get(index);
    if (block === undefined) {
      block = this.#next;
      this.#toolBlocks.set(index, block);
      this.#openBlock({ kind: 'tool', call: index }, { type: 'tool_use', id: str(call.id) ?? `toolu_${index}`, name: str(fn.name) ?? '', input: {} }, out);
    }
    const args = str(fn.arguments);
    if (args === null || args === '') return;
    // Blocks cannot be reopened; OpenAI sends each call's fragments together, so this is a broken stream.
    if (this.#open?.kind !== 'tool' || this.#open.call !== index) throw badResponse('upstream', `interleaved fragments of tool call ${index}`);
    out.push(anthropicEvent('content_block_delta', { index: block, delta: { type: 'input_json_delta', partial_json: args } }));
  }

  #openBlock(kind: NonNullable<OpenBlock>, contentBlock: Record<string, unknown>, out: string[]): void {
    this.#closeBlock(out);
    this.#open = kind;
    out.push(anthropicEvent('content_block_start', { index: this.#next, content_block: contentBlock }));
    this.#next++;
  }

  #closeBlock(out: string[]): void {
    if (this.#open === null) return;
    this.#open = null;
    out.push(anthropicEvent('content_block_stop', { index: this.#next - 1 }));
  }
}
