import type { SluiceError } from '../errors.js';
import type { RequestContext } from '../exchange/context.js';
import type { JsonObject } from '../providers/types.js';
import { OpenAIToAnthropicStream, Refusals, anthropicErrorBody, anthropicErrorEvent, anthropicRequestToOpenAI, openAIResponseToAnthropic } from '../surfaces/anthropic/index.js';
import type { Dialect, StreamFraming } from './dialect.js';
import { validateBody } from './validate.js';

const openaiFraming: StreamFraming = {
  chunk: (json) => `data: ${json}\n\n`,
  end: () => 'data: [DONE]\n\n',
  error: (err) => `event: error\ndata: ${JSON.stringify(err.toBody())}\n\n`,
};

/** OpenAI's API: bodies pass through, streams end with `[DONE]`. */
export const openaiDialect: Dialect = {
  request: (endpoint, body) => validateBody(endpoint, body),
  json: (body) => body,
  framing: () => openaiFraming,
  errorBody: (err) => err.toBody(),
};

class AnthropicFraming implements StreamFraming {
  readonly #translator: OpenAIToAnthropicStream;

  constructor(model: string) {
    this.#translator = new OpenAIToAnthropicStream(model);
  }

  chunk(json: string): string {
    return this.#translator.push(json).join('');
  }

  end(): string {
    return this.#translator.finish().join('');
  }

  error(err: SluiceError, ctx: RequestContext): string {
    return anthropicErrorEvent(err, ctx.id);
  }
}

/** A passed-through Anthropic stream: the provider's events as they came; it has no `[DONE]`. */
const anthropicNativeFraming: StreamFraming = {
  chunk: (frame) => frame,
  end: () => '',
  error: (err, ctx) => anthropicErrorEvent(err, ctx.id),
};

/**
 * Anthropic's Messages API on `/v1/messages`: the request is translated to the canonical
 * OpenAI chat form (so any provider can serve it), and answers, events and errors back.
 */
export const anthropicDialect: Dialect = {
  request: (_endpoint, body) => {
    const translated = anthropicRequestToOpenAI(body);
    // The translation yields a chat body; check it as any chat body is checked.
    return validateBody('chat', translated);
  },
  json: (body, ctx) => JSON.stringify(openAIResponseToAnthropic(JSON.parse(body) as JsonObject, ctx.model, ctx.target?.provider)),
  framing: (ctx) => new AnthropicFraming(ctx.model),
  errorBody: (err, requestId) => anthropicErrorBody(err, requestId),
  idHeader: 'request-id',
  // An Anthropic provider gets the client's request as sent, and its answer comes back as is.
  native: {
    schema: 'anthropic-messages',
    endpoints: new Set(['chat']),
    framing: anthropicNativeFraming,
    request: (_endpoint, body) => {
      const refusals = new Refusals(false);
      const translated = anthropicRequestToOpenAI(body, refusals);
      return { body: validateBody('chat', translated), refusal: refusals.first };
    },
  },
};
