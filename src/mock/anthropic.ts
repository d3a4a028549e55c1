/**
 * The Anthropic wire flavour of the standalone mock: `POST /v1/messages`, answered as a
 * Message or as Anthropic's stream events, with Anthropic's error shape (529 is
 * `overloaded_error`). Written from the Messages API reference, independently of Sluice's
 * translators, so tests of those translators are not checked against themselves.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from '../providers/types.js';
import { mulberry32 } from '../lib/random.js';
import { splitArguments, type Answer, type AnswerInput } from './engine.js';
import { json, type MockAnswer, type MockRoute } from './flavour.js';
import type { MockTool, MockToolChoice } from './tools.js';
import { pickToolCall } from './tools.js';
import { isRecord } from '../lib/json.js';

const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export function anthropicErrorBody(status: number, message?: string): JsonObject {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  const text = message ?? (status === 529 ? 'Overloaded (mock fault).' : `Mock fault: status ${status}.`);
  return { type: 'error', error: { type, message: text } };
}


/** Text of a string content or of the text blocks (and tool results' text) in a block list. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  let out = '';
  for (const b of Array.isArray(content) ? content : []) {
    if (!isRecord(b)) continue;
    if (typeof b.text === 'string') out += b.text;
    else if (b.type === 'tool_result') out += textOf(b.content);
  }
  return out;
}

/** The engine input for a Messages request: its content, token limit and tool decision. */
export function anthropicAnswerInput(body: JsonObject): AnswerInput {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  let chars = textOf(body.system).length;
  for (const m of messages) if (isRecord(m)) chars += textOf(m.content).length;
  const tools: MockTool[] = [];
  for (const t of Array.isArray(body.tools) ? body.tools : []) {
    if (isRecord(t) && typeof t.name === 'string' && (t.type === undefined || t.type === null || t.type === 'custom')) tools.push({ name: t.name, schema: t.input_schema });
  }
  const tc = isRecord(body.tool_choice) ? body.tool_choice : {};
  const choice: MockToolChoice = tc.type === 'any' ? 'required' : tc.type === 'none' ? 'none' : tc.type === 'tool' && typeof tc.name === 'string' ? { name: tc.name } : 'auto';
  const last: unknown = messages.at(-1);
  const hasToolResult = isRecord(last) && Array.isArray(last.content) && last.content.some((b) => isRecord(b) && b.type === 'tool_result');
  const lastUserText = isRecord(last) && last.role === 'user' && !hasToolResult ? textOf(last.content) : null;
  return {
    canonical: JSON.stringify(['anthropic', body.model, body.system ?? null, messages, body.max_tokens]),
    promptChars: chars,
    limit: typeof body.max_tokens === 'number' ? body.max_tokens : null,
    toolCall: pickToolCall({ tools, choice, lastUserText }),
  };
}

const STOP_REASONS = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' } as const;

/** The extended-thinking block the mock answers first when the request enables `thinking`. */
interface Thinking {
  readonly words: string[];
  /** Opaque, as Anthropic's is: here a digest of the answer and the thinking text. */
  readonly signature: string;
}

const THINKING_WORDS = ['let', 'me', 'consider', 'the', 'question', 'carefully', 'first', 'then', 'answer', 'it', 'step', 'by', 'step', 'so', 'that', 'nothing', 'is', 'missed'] as const;

/** `thinking: {type: "enabled" | "adaptive"}` asks for thinking; "disabled" or absent does not. */
function thinkingFor(body: JsonObject, a: Answer): Thinking | null {
  const t = body.thinking;
  if (!isRecord(t) || (t.type !== 'enabled' && t.type !== 'adaptive')) return null;
  const rng = mulberry32(Number.parseInt(a.hash.slice(24, 32), 16) >>> 0);
  const words: string[] = [];
  for (let i = 0; i < 12; i++) words.push(THINKING_WORDS[Math.floor(rng() * THINKING_WORDS.length)]!);
  const signature = createHash('sha256').update(`${a.hash}:${words.join(' ')}`).digest('base64');
  return { words, signature };
}

function message(a: Answer, model: string, thinking: Thinking | null): JsonObject {
  const answer = a.toolCall === null ? { type: 'text', text: a.words.join(' ') } : { type: 'tool_use', id: `toolu_${a.toolCall.id}`, name: a.toolCall.name, input: a.toolCall.input };
  const content: JsonObject[] = thinking === null ? [answer] : [{ type: 'thinking', thinking: thinking.words.join(' '), signature: thinking.signature }, answer];
  // Thinking tokens are output tokens, as Anthropic bills them.
  const output = a.usage.completion_tokens + (thinking?.words.length ?? 0);
  return {
    id: `msg_${a.hash.slice(0, 24)}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: STOP_REASONS[a.finishReason],
    stop_sequence: null,
    usage: { input_tokens: a.usage.prompt_tokens, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

function frame(type: string, data: JsonObject): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/**
 * message_start, ping, the thinking block when asked (a word per thinking_delta, then one
 * signature_delta), one answer block (a word per text_delta, or input_json_delta fragments),
 * message_delta, message_stop.
 */
function events(a: Answer, model: string, thinking: Thinking | null): string[] {
  const msg = message(a, model, thinking);
  const start = { ...msg, content: [], stop_reason: null, usage: { ...(msg.usage as JsonObject), output_tokens: 1 } };
  const out = [frame('message_start', { message: start }), frame('ping', {})];
  let index = 0;
  if (thinking !== null) {
    out.push(frame('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
    thinking.words.forEach((w, i) => out.push(frame('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: i === 0 ? w : ` ${w}` } })));
    out.push(frame('content_block_delta', { index, delta: { type: 'signature_delta', signature: thinking.signature } }));
    out.push(frame('content_block_stop', { index }));
    index++;
  }
  const call = a.toolCall;
  if (call === null) {
    out.push(frame('content_block_start', { index, content_block: { type: 'text', text: '' } }));
    a.words.forEach((w, i) => out.push(frame('content_block_delta', { index, delta: { type: 'text_delta', text: i === 0 ? w : ` ${w}` } })));
  } else {
    out.push(frame('content_block_start', { index, content_block: { type: 'tool_use', id: `toolu_${call.id}`, name: call.name, input: {} } }));
    for (const piece of ['', ...splitArguments(call.arguments)]) out.push(frame('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } }));
  }
  out.push(frame('content_block_stop', { index }));
  out.push(frame('message_delta', { delta: { stop_reason: msg.stop_reason, stop_sequence: null }, usage: { output_tokens: (msg.usage as { output_tokens: number }).output_tokens } }));
  out.push(frame('message_stop', {}));
  return out;
}

const messagesRoute: MockRoute = {
  faultBody: (_engine, status) => anthropicErrorBody(status),
  invalidBody: () => anthropicErrorBody(400, 'The request body is not valid JSON.'),
  answer(engine, body): MockAnswer {
    // The fields Anthropic requires; Sluice must always send max_tokens, so the mock checks it.
    for (const key of ['model', 'messages', 'max_tokens'] as const) {
      if (body[key] === undefined) return json(anthropicErrorBody(400, `${key}: Field required`), 400);
    }
    const a = engine.answerFrom(anthropicAnswerInput(body));
    const model = String(body.model);
    const thinking = thinkingFor(body, a);
    if (body.stream === true) return { kind: 'sse', frames: events(a, model, thinking), trailer: '' };
    return json(message(a, model, thinking));
  },
};

export function anthropicRoute(path: string): MockRoute | null {
  return path === '/v1/messages' ? messagesRoute : null;
}
