/**
 * A deterministic fake OpenAI backend: pure logic that turns a request body into OpenAI-shaped
 * answers, chunks and errors. Both the in-process adapter and the standalone HTTP mock use it,
 * so tests and benchmarks see byte-identical content whichever path they exercise.
 *
 * Determinism: the answer is a function of the request content only (model, messages or prompt,
 * token limits, tools), so a cache or a retry can be checked by comparing text. Requests that
 * declare tools may be answered with a tool call instead of text; tools.ts has the rule. Only `created` (the
 * wall clock) and the fault sequence (the seeded PRNG, which advances per request) vary.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from '../providers/types.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { MockOptions } from './options.js';
import type { ChatCompletion, ChatCompletionChunk, EmbeddingList, FinishReason, OpenAiErrorBody, OpenAiUsage, TextCompletion } from './openai-types.js';
import { pickToolCall, type MockTool, type MockToolCall, type MockToolChoice } from './tools.js';
import { mulberry32 } from '../lib/random.js';
import { isRecord } from '../lib/json.js';
import { chatOptions, choiceLogprobs, spacedJson, tokenLogprobs, type ChatOptions, type StructuredFormat } from './chat-options.js';
import { schemaInstance } from './schema-instance.js';
import { embeddingInputs, embeddingVector, toBase64 } from './embeddings.js';

export { chatRefusal, type MockRefusal, type StructuredFormat } from './chat-options.js';
export type {
  ChatCompletion,
  ChatCompletionChunk,
  EmbeddingList,
  FinishReason,
  OpenAiErrorBody,
  OpenAiToolCall,
  OpenAiUsage,
  TextCompletion,
  ToolCallDelta,
} from './openai-types.js';

export interface Fault {
  status: number;
  retryAfter: number | null;
}

/** A tool call the mock decided to make (see tools.ts), with its arguments as JSON text. */
export interface AnswerToolCall {
  /** Derived from the request hash, without a flavour prefix (call_, toolu_). */
  id: string;
  name: string;
  input: Record<string, unknown>;
  arguments: string;
}

/** A generated answer, before it is dressed as a completion, a chunk list or a text completion. */
export interface Answer {
  /** Hex sha256 of the canonical request content; ids are derived from it. */
  hash: string;
  /** Empty when the answer is a tool call. */
  words: string[];
  finishReason: FinishReason;
  toolCall: AnswerToolCall | null;
  usage: OpenAiUsage;
}

/** What an answer is derived from, whatever wire flavour the request came in. */
export interface AnswerInput {
  /** Canonical text of the request content; the same text gives the same answer. */
  readonly canonical: string;
  /** Characters of prompt text, for the prompt token estimate. */
  readonly promptChars: number;
  /** Most completion tokens, or null for no limit. */
  readonly limit: number | null;
  readonly toolCall: MockToolCall | null;
  /** Structured output asked for (`response_format`); absent or null for free text. */
  readonly format?: StructuredFormat | null;
}

const VOCABULARY = [
  'the', 'river', 'stone', 'light', 'quiet', 'morning', 'garden', 'window', 'paper', 'signal',
  'bridge', 'forest', 'simple', 'orange', 'silver', 'harbor', 'travel', 'number', 'little', 'answer',
  'gentle', 'market', 'winter', 'summer', 'yellow', 'planet', 'rocket', 'castle', 'island', 'valley',
  'pencil', 'engine', 'follow', 'wonder', 'before', 'after', 'under', 'over', 'between', 'around',
  'cloud', 'water', 'thunder', 'candle', 'mirror', 'ladder', 'basket', 'coffee', 'letter', 'meadow',
  'sluice', 'gate', 'stream', 'token', 'model', 'route', 'limit', 'cache', 'metric', 'proxy',
  'steady', 'bright', 'careful', 'ready',
] as const;

const MIN_WORDS = 8;
const MAX_WORDS = 40;
const DEFAULT_DIMENSIONS = 256;
/** Bounds `dimensions` so a hostile or mistaken value cannot make the mock allocate gigabytes. */
const MAX_DIMENSIONS = 8192;

export { mulberry32, embeddingInputs, embeddingVector };

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** 32-bit unsigned integer from 8 hex digits of a hash, starting at hex offset `at`. */
function hashWord(hash: string, at: number): number {
  return Number.parseInt(hash.slice(at, at + 8), 16) >>> 0;
}

/**
 * Prompt tokens are estimated as ceil(characters / 4) over all prompt text (message contents,
 * text parts, prompts, embedding inputs): OpenAI's own rule of thumb, and cheap.
 */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** Characters of the text a message's `content` carries: a string, or an array of text parts. */
function contentChars(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const part of content) {
    if (typeof part === 'string') n += part.length;
    else if (isRecord(part) && typeof part.text === 'string') n += part.text.length;
  }
  return n;
}


/** A non-negative integer limit from the body, or null when absent or not a usable number. */
function tokenLimit(body: JsonObject): number | null {
  for (const key of ['max_completion_tokens', 'max_tokens']) {
    const v = body[key];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v);
  }
  return null;
}

function modelOf(body: JsonObject): string {
  return typeof body.model === 'string' ? body.model : 'mock-1';
}

/** The tool-call inputs of an OpenAI chat body (tools, tool_choice, last user text). */
export function openAiToolRequest(body: JsonObject): { tools: MockTool[]; choice: MockToolChoice; lastUserText: string | null } {
  const tools: MockTool[] = [];
  for (const t of Array.isArray(body.tools) ? body.tools : []) {
    if (isRecord(t) && isRecord(t.function) && typeof t.function.name === 'string') tools.push({ name: t.function.name, schema: t.function.parameters });
  }
  const tc = body.tool_choice;
  const choice: MockToolChoice =
    tc === 'none' || tc === 'required' ? tc : isRecord(tc) && isRecord(tc.function) && typeof tc.function.name === 'string' ? { name: tc.function.name } : 'auto';
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last: unknown = messages.at(-1);
  const lastUserText = isRecord(last) && last.role === 'user' ? textOf(last.content) : null;
  return { tools, choice, lastUserText };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  let out = '';
  for (const part of Array.isArray(content) ? content : []) if (isRecord(part) && typeof part.text === 'string') out += part.text;
  return out;
}

/** Characters of a legacy `prompt` (a string or an array); every prompt counts as input. */
function promptChars(prompt: unknown): number {
  if (typeof prompt === 'string') return prompt.length;
  if (!Array.isArray(prompt)) return 0;
  let chars = 0;
  for (const p of prompt) chars += typeof p === 'string' ? p.length : (JSON.stringify(p) ?? '').length;
  return chars;
}

/** An OpenAI-shaped error body; also used by the standalone server for its own 400/404. */
export function openAiError(message: string, type: string, code: string | null = null): OpenAiErrorBody {
  return { error: { message, type, param: null, code } };
}

/** Tool arguments streamed in three fragments, as providers stream them in pieces. */
export function splitArguments(args: string): string[] {
  const size = Math.max(1, Math.ceil(args.length / 3));
  const out: string[] = [];
  for (let i = 0; i < args.length; i += size) out.push(args.slice(i, i + size));
  return out;
}

export class MockEngine {
  private readonly faultRng: () => number;

  constructor(
    readonly options: MockOptions,
    private readonly clock: Clock = systemClock,
  ) {
    this.faultRng = mulberry32(options.seed);
  }

  /** The fault to inject into the next request, if any; advances the seeded PRNG. */
  nextFault(): Fault | null {
    const { status, failRate, retryAfter } = this.options;
    if (status !== null) return { status, retryAfter: status === 429 ? retryAfter : null };
    if (failRate > 0 && this.faultRng() < failRate) return { status: 500, retryAfter: null };
    return null;
  }

  errorBody(status: number): OpenAiErrorBody {
    if (status === 429) return openAiError('Rate limit reached for requests (mock fault).', 'requests', 'rate_limit_exceeded');
    if (status >= 500) return openAiError('The server had an error while processing your request (mock fault).', 'server_error');
    if (status === 401) return openAiError('Incorrect API key provided (mock fault).', 'invalid_request_error', 'invalid_api_key');
    if (status === 404) return openAiError('The model does not exist (mock fault).', 'invalid_request_error', 'model_not_found');
    return openAiError(`Mock fault: status ${status}.`, 'invalid_request_error');
  }

  /** The answer to a chat (messages) or legacy completion (prompt) request: its first choice. */
  answer(body: JsonObject): Answer {
    return this.#answer(body, 0, this.#optionsOf(body));
  }

  /** The answer of each of a chat request's `n` choices. */
  choices(body: JsonObject): Answer[] {
    const opts = this.#optionsOf(body);
    const out: Answer[] = [];
    for (let i = 0; i < opts.n; i++) out.push(this.#answer(body, i, opts));
    return out;
  }

  /** The usage of a request with all its choices: the prompt once, every choice's completion. */
  usage(body: JsonObject): OpenAiUsage {
    return this.#sum(this.choices(body));
  }

  #optionsOf(body: JsonObject): ChatOptions {
    const isChat = !('prompt' in body) || 'messages' in body;
    return isChat ? chatOptions(body) : { n: 1, format: null, logprobs: false, topLogprobs: 0 };
  }

  /** Choice `index`: the first is the request's own answer, the others vary it deterministically. */
  #answer(body: JsonObject, index: number, opts: ChatOptions): Answer {
    const isChat = !('prompt' in body) || 'messages' in body;
    let chars = 0;
    if (isChat) {
      const messages = Array.isArray(body.messages) ? body.messages : [];
      for (const m of messages) if (isRecord(m)) chars += contentChars(m.content);
    } else {
      chars = promptChars(body.prompt);
    }
    const parts: unknown[] = [
      isChat ? 'chat' : 'completion',
      modelOf(body),
      isChat ? (body.messages ?? null) : (body.prompt ?? null),
      body.max_tokens ?? null,
      body.max_completion_tokens ?? null,
    ];
    // Appended only when present, so a plain request keeps the answer (and ids) it always had.
    if (opts.format !== null) parts.push(opts.format);
    if (index > 0) parts.push(index);
    const toolCall = isChat ? pickToolCall(openAiToolRequest(body)) : null;
    return this.answerFrom({ canonical: JSON.stringify(parts), promptChars: chars, limit: tokenLimit(body), toolCall, format: opts.format });
  }

  /**
   * The answer for any flavour: words drawn from the canonical text's hash, cut at `limit`,
   * or the given tool call, whose completion tokens are estimated from its arguments.
   */
  answerFrom(input: AnswerInput): Answer {
    const hash = sha256Hex(input.canonical);
    const promptTokens = estimateTokens(input.promptChars);
    if (input.toolCall !== null) {
      const args = JSON.stringify(input.toolCall.input);
      const tokens = estimateTokens(args.length);
      return {
        hash,
        words: [],
        finishReason: 'tool_calls',
        toolCall: { id: `mock_${hash.slice(0, 24)}`, name: input.toolCall.name, input: input.toolCall.input, arguments: args },
        usage: { prompt_tokens: promptTokens, completion_tokens: tokens, total_tokens: promptTokens + tokens },
      };
    }
    const natural = MIN_WORDS + (hashWord(hash, 0) % (MAX_WORDS - MIN_WORDS + 1));
    const rng = mulberry32(hashWord(hash, 8));
    let words: string[] = [];
    for (let i = 0; i < natural; i++) words.push(VOCABULARY[Math.floor(rng() * VOCABULARY.length)] as string);
    // Structured output is JSON text, split on its spaces into the pieces that are counted and streamed.
    const format = input.format ?? null;
    if (format?.kind === 'json_object') words = spacedJson({ answer: words.join(' ') }).split(' ');
    else if (format?.kind === 'json_schema') words = spacedJson(schemaInstance(format.schema)).split(' ');
    const full = words.length;
    const count = input.limit === null ? full : Math.min(full, input.limit);
    words = words.slice(0, count);
    return {
      hash,
      words,
      finishReason: count < full ? 'length' : 'stop',
      toolCall: null,
      usage: { prompt_tokens: promptTokens, completion_tokens: count, total_tokens: promptTokens + count },
    };
  }

  /** `n` choices; with `logprobs`, each choice's log probabilities per piece of its text. */
  chatCompletion(body: JsonObject): ChatCompletion {
    const opts = chatOptions(body);
    const answers = this.choices(body);
    const first = answers[0]!;
    const choices: ChatCompletion['choices'] = answers.map((a, index) => {
      const message: ChatCompletion['choices'][number]['message'] =
        a.toolCall === null
          ? { role: 'assistant', content: a.words.join(' '), refusal: null }
          : { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: `call_${a.toolCall.id}`, type: 'function', function: { name: a.toolCall.name, arguments: a.toolCall.arguments } }] };
      return { index, message, logprobs: opts.logprobs ? choiceLogprobs(this.#logprobs(a, opts)) : null, finish_reason: a.finishReason };
    });
    return {
      id: `chatcmpl-mock-${first.hash.slice(0, 24)}`,
      object: 'chat.completion',
      created: this.created(),
      model: modelOf(body),
      choices,
      usage: this.#sum(answers),
    };
  }

  /**
   * Per choice: a role chunk, one chunk per word (with its log probability when asked), a
   * finish chunk; with `n` > 1 the choices' chunks interleave, as OpenAI's do. With
   * `includeUsage` every chunk carries `usage: null` and a last chunk with empty `choices`
   * carries the usage (OpenAI's behaviour).
   */
  chatChunks(body: JsonObject, includeUsage: boolean): ChatCompletionChunk[] {
    const opts = chatOptions(body);
    const answers = this.choices(body);
    const first = answers[0]!;
    const base = { id: `chatcmpl-mock-${first.hash.slice(0, 24)}`, object: 'chat.completion.chunk' as const, created: this.created(), model: modelOf(body) };
    type Choice = ChatCompletionChunk['choices'][number];
    const chunk = (choice: Choice): ChatCompletionChunk => {
      const c: ChatCompletionChunk = { ...base, choices: [choice] };
      if (includeUsage) c.usage = null;
      return c;
    };
    const steps = answers.map((a, index) => {
      const step = (delta: Choice['delta'], finish: FinishReason | null = null, logprobs: Choice['logprobs'] = null): Choice => ({ index, delta, logprobs, finish_reason: finish });
      const call = a.toolCall;
      const out = [step({ role: 'assistant', content: call === null ? '' : null })];
      if (call !== null) {
        out.push(step({ tool_calls: [{ index: 0, id: `call_${call.id}`, type: 'function', function: { name: call.name, arguments: '' } }] }));
        for (const piece of splitArguments(call.arguments)) out.push(step({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
      }
      const logprobs = opts.logprobs ? this.#logprobs(a, opts) : null;
      a.words.forEach((w, i) => out.push(step({ content: i === 0 ? w : ` ${w}` }, null, logprobs === null ? null : choiceLogprobs([logprobs[i]!]))));
      out.push(step({}, a.finishReason));
      return out;
    });
    const chunks: ChatCompletionChunk[] = [];
    const longest = Math.max(...steps.map((s) => s.length));
    for (let j = 0; j < longest; j++) for (const s of steps) if (j < s.length) chunks.push(chunk(s[j]!));
    if (includeUsage) chunks.push({ ...base, choices: [], usage: this.#sum(answers) });
    return chunks;
  }

  /** The pieces a choice's text streams as, with their log probabilities. */
  #logprobs(a: Answer, opts: ChatOptions): ReturnType<typeof tokenLogprobs> {
    return tokenLogprobs(a.words.map((w, i) => (i === 0 ? w : ` ${w}`)), opts.topLogprobs, hashWord(a.hash, 16), VOCABULARY);
  }

  #sum(answers: readonly Answer[]): OpenAiUsage {
    const prompt = answers[0]!.usage.prompt_tokens;
    const completion = answers.reduce((n, a) => n + a.usage.completion_tokens, 0);
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }

  completion(body: JsonObject): TextCompletion {
    const a = this.answer(body);
    return {
      id: `cmpl-mock-${a.hash.slice(0, 24)}`,
      object: 'text_completion',
      created: this.created(),
      model: modelOf(body),
      choices: [{ text: a.words.join(' '), index: 0, logprobs: null, finish_reason: a.finishReason }],
      usage: a.usage,
    };
  }

  /** One chunk per word, then an empty-text chunk with the finish reason (and the usage chunk). */
  completionChunks(body: JsonObject, includeUsage: boolean): TextCompletion[] {
    const a = this.answer(body);
    const base = { id: `cmpl-mock-${a.hash.slice(0, 24)}`, object: 'text_completion' as const, created: this.created(), model: modelOf(body) };
    const chunk = (text: string, finish: FinishReason | null): TextCompletion => {
      const c: TextCompletion = { ...base, choices: [{ text, index: 0, logprobs: null, finish_reason: finish }] };
      if (includeUsage) c.usage = null;
      return c;
    };
    const chunks = a.words.map((w, i) => chunk(i === 0 ? w : ` ${w}`, null));
    chunks.push(chunk('', a.finishReason));
    if (includeUsage) chunks.push({ ...base, choices: [], usage: a.usage });
    return chunks;
  }

  /** Vectors per input text; `encoding_format: 'base64'` (the official SDK's default) is honoured. */
  embeddings(body: JsonObject): EmbeddingList {
    const texts = embeddingInputs(body.input);
    const d = body.dimensions;
    const dimensions = typeof d === 'number' && Number.isInteger(d) && d > 0 ? Math.min(d, MAX_DIMENSIONS) : DEFAULT_DIMENSIONS;
    const base64 = body.encoding_format === 'base64';
    let chars = 0;
    const data = texts.map((text, index) => {
      chars += text.length;
      const v = embeddingVector(text, dimensions);
      return { object: 'embedding' as const, index, embedding: base64 ? toBase64(v) : v };
    });
    const tokens = estimateTokens(chars);
    return { object: 'list', data, model: modelOf(body), usage: { prompt_tokens: tokens, total_tokens: tokens } };
  }

  private created(): number {
    return Math.floor(this.clock.now() / 1000);
  }
}
