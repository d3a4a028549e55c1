/**
 * Anthropic streaming events → OpenAI chat.completion.chunk JSON. Pure: the adapter feeds it
 * parsed SSE events and sends on what it returns.
 *
 * Event flow (https://docs.anthropic.com/en/api/messages-streaming): message_start, then per
 * content block content_block_start / content_block_delta… / content_block_stop, then
 * message_delta (stop_reason, cumulative usage) and message_stop; `ping` may come anywhere and
 * `error` ends the stream. Unknown event types are ignored, as Anthropic asks of clients.
 */
import { SluiceError } from '../../errors.js';
import type { Usage } from '../types.js';
import type { SseEvent } from '../../upstream/sse.js';
import { ChunkWriter } from '../http/chunk-writer.js';
import { badResponse } from '../http/errors.js';
import { isRecord, num, parseObject, str } from '../http/json.js';
import { usageOf, type OpenAIUsage } from '../openai/types.js';
import type { ChunkTranslator } from '../http/stream.js';
import { anthropicStreamError } from './errors.js';
import { finishReasonFromAnthropic, usageFromAnthropic } from './response.js';

export interface AnthropicStreamOptions {
  readonly provider: string;
  readonly includeUsage: boolean;
  /** Unix seconds for `created`. */
  readonly created: number;
  /** The requested model, used until message_start names the model. */
  readonly model: string;
}

/** What an Anthropic content block index stands for in the OpenAI stream. */
type Block = { kind: 'text' } | { kind: 'tool'; toolIndex: number } | { kind: 'other' };

export class AnthropicStreamTranslator implements ChunkTranslator {
  committed = false;
  readonly #provider: string;
  readonly #out: ChunkWriter;
  readonly #blocks = new Map<number, Block>();
  #tools = 0;
  #done = false;
  /** Anthropic's usage, merged from message_start and message_delta (which is cumulative). */
  readonly #usage: Record<string, unknown> = {};

  constructor(opts: AnthropicStreamOptions) {
    this.#provider = opts.provider;
    this.#out = new ChunkWriter({ created: opts.created, includeUsage: opts.includeUsage, model: opts.model });
  }

  usage(): Usage | null {
    const u = this.#openAIUsage();
    return u === null ? null : usageOf(u);
  }

  push(event: SseEvent): string[] {
    const data = parseObject(event.data);
    if (data === null) throw badResponse(this.#provider, `a stream event that is not a JSON object (${event.event ?? 'unnamed'})`);
    switch (str(data.type) ?? event.event) {
      case 'message_start':
        return this.#messageStart(data.message);
      case 'content_block_start':
        return this.#blockStart(num(data.index) ?? -1, data.content_block);
      case 'content_block_delta':
        return this.#blockDelta(num(data.index) ?? -1, data.delta);
      case 'message_delta':
        return this.#messageDelta(data);
      case 'message_stop':
        this.#done = true;
        return this.#finalUsage();
      case 'error':
        throw anthropicStreamError(this.#provider, data, this.committed);
      default:
        // ping, content_block_stop, and event types added after this was written.
        return [];
    }
  }

  end(): string[] {
    if (!this.#done) throw new SluiceError('SLUICE_ERR_STREAM_INTERRUPTED', { message: `The stream from provider "${this.#provider}" ended without message_stop.` });
    return [];
  }

  #messageStart(message: unknown): string[] {
    if (!isRecord(message)) throw badResponse(this.#provider, 'a message_start event without a message');
    if (typeof message.id === 'string') this.#out.id = message.id;
    if (typeof message.model === 'string') this.#out.model = message.model;
    this.#mergeUsage(message.usage);
    return [this.#out.delta({ role: 'assistant', content: '' })];
  }

  #blockStart(index: number, block: unknown): string[] {
    if (!isRecord(block)) return [];
    if (block.type === 'text') {
      this.#blocks.set(index, { kind: 'text' });
      return typeof block.text === 'string' && block.text !== '' ? [this.#text(block.text)] : [];
    }
    if (block.type === 'tool_use') {
      const toolIndex = this.#tools++;
      this.#blocks.set(index, { kind: 'tool', toolIndex });
      this.committed = true;
      // The input arrives as input_json_delta fragments; a start that already carries one is sent whole.
      const input = isRecord(block.input) && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : '';
      return [this.#out.delta({ tool_calls: [{ index: toolIndex, id: str(block.id) ?? '', type: 'function', function: { name: str(block.name) ?? '', arguments: input } }] })];
    }
    this.#blocks.set(index, { kind: 'other' });
    return [];
  }

  #blockDelta(index: number, delta: unknown): string[] {
    if (!isRecord(delta)) return [];
    const block = this.#blocks.get(index);
    if (delta.type === 'text_delta' && typeof delta.text === 'string') {
      if (block?.kind !== 'text') throw badResponse(this.#provider, `a text delta for content block ${index}, which is not text`);
      return delta.text === '' ? [] : [this.#text(delta.text)];
    }
    if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
      if (block?.kind !== 'tool') throw badResponse(this.#provider, `an input_json_delta for content block ${index}, which is not a tool call`);
      if (delta.partial_json === '') return [];
      return [this.#out.delta({ tool_calls: [{ index: block.toolIndex, function: { arguments: delta.partial_json } }] })];
    }
    // thinking_delta, signature_delta, citations_delta: no OpenAI counterpart.
    return [];
  }

  #messageDelta(data: Record<string, unknown>): string[] {
    this.#mergeUsage(data.usage);
    const delta = isRecord(data.delta) ? data.delta : {};
    if (delta.stop_reason === undefined || delta.stop_reason === null) return [];
    this.committed = true;
    return [this.#out.delta({}, finishReasonFromAnthropic(delta.stop_reason))];
  }

  #text(text: string): string {
    this.committed = true;
    return this.#out.delta({ content: text });
  }

  #mergeUsage(u: unknown): void {
    if (!isRecord(u)) return;
    for (const [k, v] of Object.entries(u)) if (v !== null && v !== undefined) this.#usage[k] = v;
  }

  #openAIUsage(): OpenAIUsage | null {
    return usageFromAnthropic(this.#usage);
  }

  #finalUsage(): string[] {
    const u = this.#openAIUsage();
    return this.#out.includeUsage && u !== null ? [this.#out.usage(u)] : [];
  }
}
