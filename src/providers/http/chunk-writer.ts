/** Serialises OpenAI `chat.completion.chunk` objects for the stream translators. */
import type { OpenAIChatChunk, OpenAIDelta, OpenAIFinishReason, OpenAIUsage } from '../openai/types.js';

export interface ChunkWriterOptions {
  /** Unix seconds for `created`. */
  readonly created: number;
  /** Whether the client asked for `stream_options.include_usage`. */
  readonly includeUsage: boolean;
  /** Model until the provider names one. */
  readonly model: string;
  readonly id?: string;
}

export class ChunkWriter {
  id: string;
  model: string;
  readonly created: number;
  readonly includeUsage: boolean;

  constructor(opts: ChunkWriterOptions) {
    this.id = opts.id ?? 'chatcmpl-sluice';
    this.model = opts.model;
    this.created = opts.created;
    this.includeUsage = opts.includeUsage;
  }

  /** One choice's delta. With include_usage every chunk says `usage: null`, as OpenAI does. */
  delta(delta: OpenAIDelta, finish: OpenAIFinishReason | null = null, index = 0): string {
    const chunk: OpenAIChatChunk = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index, delta, logprobs: null, finish_reason: finish }],
    };
    if (this.includeUsage) chunk.usage = null;
    return JSON.stringify(chunk);
  }

  /** The final usage chunk (empty `choices`), sent only when the client asked for it. */
  usage(usage: OpenAIUsage): string {
    const chunk: OpenAIChatChunk = { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage };
    return JSON.stringify(chunk);
  }
}
