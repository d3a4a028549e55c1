/**
 * OpenAI chat body → Anthropic Messages body. Pure. Every OpenAI parameter is either mapped,
 * rejected with a 400 naming it, or dropped as documented in docs/providers.md; keys Sluice
 * does not know are forwarded unchanged, so Anthropic-only parameters (`top_k`, `thinking`)
 * still reach Anthropic, and Anthropic rejects typos itself.
 */
import type { JsonObject } from '../types.js';
import { invalidParam, unsupported } from '../http/errors.js';
import { arr, isRecord, parseDataUrl, parseToolArguments, str, textOfContent } from '../http/json.js';

export interface AnthropicRequestOptions {
  /** Provider name, for error messages. */
  readonly provider: string;
  /** `max_tokens` when the client set neither `max_tokens` nor `max_completion_tokens`. */
  readonly defaultMaxTokens: number;
}

type Role = 'user' | 'assistant';
interface Turn {
  role: Role;
  blocks: JsonObject[];
}

/** OpenAI keys this module handles; anything else is forwarded as is. */
const HANDLED = new Set([
  'model', 'messages', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'stream', 'stream_options',
  'tools', 'tool_choice', 'parallel_tool_calls', 'user', 'n', 'logprobs', 'top_logprobs', 'presence_penalty',
  'frequency_penalty', 'logit_bias', 'response_format', 'reasoning_effort', 'modalities', 'audio', 'prediction',
  'web_search_options', 'functions', 'function_call', 'verbosity',
  // Dropped: hints with no Anthropic counterpart that do not change what the answer means.
  'seed', 'service_tier', 'store', 'metadata', 'prompt_cache_key', 'safety_identifier',
]);

export function anthropicRequestFromOpenAI(body: JsonObject, opts: AnthropicRequestOptions): JsonObject {
  const p = opts.provider;
  rejectUnsupported(body, p);
  const { system, turns } = convertMessages(body.messages, p);
  const out: JsonObject = { model: body.model };
  if (system !== null) out.system = system;
  out.messages = turns.map(toMessage);
  out.max_tokens = positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens) ?? opts.defaultMaxTokens;

  const stop = body.stop;
  if (typeof stop === 'string') out.stop_sequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) out.stop_sequences = stop;
  if (typeof body.temperature === 'number') {
    // Anthropic's range is 0..1; scaling OpenAI's 0..2 would change the meaning of every value.
    if (body.temperature > 1) throw unsupported(p, 'temperature', 'temperature above 1 (Anthropic accepts 0 to 1)');
    out.temperature = body.temperature;
  }
  if (typeof body.top_p === 'number') out.top_p = body.top_p;

  const tools = convertTools(body.tools, p);
  if (tools.length > 0) {
    out.tools = tools;
    const choice = convertToolChoice(body.tool_choice, body.parallel_tool_calls);
    if (choice !== null) out.tool_choice = choice;
  }
  if (typeof body.user === 'string' && body.user !== '') out.metadata = { user_id: body.user };
  const outputConfig = convertOutputConfig(body, p);
  if (outputConfig !== null) out.output_config = outputConfig;
  if (body.stream === true) out.stream = true;
  for (const [key, value] of Object.entries(body)) if (!HANDLED.has(key)) out[key] = value;
  return out;
}

function positiveInt(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null;
}

function rejectUnsupported(body: JsonObject, p: string): void {
  if (typeof body.n === 'number' && body.n > 1) throw unsupported(p, 'n', 'n greater than 1 (Anthropic returns one choice)');
  if (body.logprobs === true) throw unsupported(p, 'logprobs', 'logprobs');
  if (body.top_logprobs !== undefined && body.top_logprobs !== null) throw unsupported(p, 'top_logprobs', 'top_logprobs');
  for (const key of ['presence_penalty', 'frequency_penalty'] as const) {
    const v = body[key];
    if (typeof v === 'number' && v !== 0) throw unsupported(p, key, `a non-zero ${key}`);
  }
  if (isRecord(body.logit_bias) && Object.keys(body.logit_bias).length > 0) throw unsupported(p, 'logit_bias', 'logit_bias');
  const modalities = arr(body.modalities);
  if (modalities.some((m) => m !== 'text')) throw unsupported(p, 'modalities', 'output modalities other than text');
  for (const key of ['audio', 'prediction', 'web_search_options', 'verbosity'] as const) {
    if (body[key] !== undefined && body[key] !== null) throw unsupported(p, key, key);
  }
  if (body.functions !== undefined || body.function_call !== undefined) {
    throw unsupported(p, body.functions !== undefined ? 'functions' : 'function_call', 'the legacy functions API (use tools)');
  }
}

function convertOutputConfig(body: JsonObject, p: string): JsonObject | null {
  const out: JsonObject = {};
  const rf = body.response_format;
  if (isRecord(rf) && rf.type !== 'text') {
    if (rf.type === 'json_schema' && isRecord(rf.json_schema) && isRecord(rf.json_schema.schema)) {
      out.format = { type: 'json_schema', schema: rf.json_schema.schema };
    } else {
      throw unsupported(p, 'response_format', `response_format ${JSON.stringify(rf.type)} (Anthropic takes a json_schema)`);
    }
  }
  const effort = body.reasoning_effort;
  if (effort !== undefined && effort !== null) {
    if (effort !== 'low' && effort !== 'medium' && effort !== 'high') throw unsupported(p, 'reasoning_effort', `reasoning_effort ${JSON.stringify(effort)}`);
    out.effort = effort;
  }
  return Object.keys(out).length === 0 ? null : out;
}

function convertTools(tools: unknown, p: string): JsonObject[] {
  return arr(tools).map((t, i) => {
    if (!isRecord(t) || t.type !== 'function' || !isRecord(t.function)) throw unsupported(p, `tools[${i}].type`, 'tools other than functions');
    const f = t.function;
    if (typeof f.name !== 'string') throw invalidParam(`tools[${i}].function.name`, 'must be a string');
    const tool: JsonObject = { name: f.name };
    if (typeof f.description === 'string') tool.description = f.description;
    tool.input_schema = isRecord(f.parameters) ? f.parameters : { type: 'object', properties: {} };
    if (f.strict === true) tool.strict = true;
    return tool;
  });
}

function convertToolChoice(choice: unknown, parallel: unknown): JsonObject | null {
  let out: JsonObject | null = null;
  if (choice === 'none') out = { type: 'none' };
  else if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'required') out = { type: 'any' };
  else if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') out = { type: 'tool', name: choice.function.name };
  else if (choice !== undefined && choice !== null) throw invalidParam('tool_choice', 'must be "none", "auto", "required" or a named function');
  if (parallel === false) {
    out ??= { type: 'auto' };
    if (out.type !== 'none') out.disable_parallel_tool_use = true;
  }
  return out;
}

/** System messages are hoisted (in order) into `system`; the rest become alternating turns. */
function convertMessages(messages: unknown, p: string): { system: string | null; turns: Turn[] } {
  const system: string[] = [];
  const turns: Turn[] = [];
  const push = (role: Role, blocks: JsonObject[]): void => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    // Anthropic requires user and assistant turns to alternate; OpenAI does not.
    if (last !== undefined && last.role === role) last.blocks.push(...blocks);
    else turns.push({ role, blocks });
  };
  arr(messages).forEach((m, i) => {
    if (!isRecord(m)) throw invalidParam(`messages[${i}]`, 'must be an object');
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(textOfContent(m.content));
        break;
      case 'user':
        push('user', userBlocks(m.content, i, p));
        break;
      case 'assistant':
        push('assistant', assistantBlocks(m, i, p));
        break;
      case 'tool':
        push('user', [toolResult(m, i)]);
        break;
      default:
        throw unsupported(p, `messages[${i}].role`, `messages with role ${JSON.stringify(m.role)}`);
    }
  });
  return { system: system.length === 0 ? null : system.join('\n\n'), turns };
}

function toMessage(turn: Turn): JsonObject {
  const only = turn.blocks.length === 1 ? turn.blocks[0]! : null;
  return { role: turn.role, content: only !== null && only.type === 'text' ? only.text : turn.blocks };
}

function userBlocks(content: unknown, i: number, p: string): JsonObject[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw invalidParam(`messages[${i}].content`, 'must be a string or an array of parts');
  return content.map((part, j) => {
    const param = `messages[${i}].content[${j}]`;
    if (!isRecord(part)) throw invalidParam(param, 'must be an object');
    if (part.type === 'text') return { type: 'text', text: str(part.text) ?? '' };
    if (part.type === 'image_url') return imageBlock(part.image_url, `${param}.image_url.url`);
    if (part.type === 'file' && isRecord(part.file) && typeof part.file.file_data === 'string') {
      const data = parseDataUrl(part.file.file_data);
      if (data !== null && data.mediaType === 'application/pdf') return { type: 'document', source: { type: 'base64', media_type: data.mediaType, data: data.data } };
    }
    throw unsupported(p, `${param}.type`, `content parts of type ${JSON.stringify(part.type)} (text, image_url and PDF file_data are supported)`);
  });
}

function imageBlock(image: unknown, param: string): JsonObject {
  const url = isRecord(image) ? str(image.url) : null;
  if (url === null) throw invalidParam(param, 'must be a string');
  const data = parseDataUrl(url);
  if (data !== null) return { type: 'image', source: { type: 'base64', media_type: data.mediaType, data: data.data } };
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw invalidParam(param, 'must be an http(s) URL or a base64 data: URL');
}

function assistantBlocks(m: JsonObject, i: number, p: string): JsonObject[] {
  if (m.audio !== undefined && m.audio !== null) throw unsupported(p, `messages[${i}].audio`, 'assistant audio');
  if (m.function_call !== undefined && m.function_call !== null) throw unsupported(p, `messages[${i}].function_call`, 'the legacy function_call (use tool_calls)');
  const blocks: JsonObject[] = [];
  if (typeof m.content === 'string') {
    if (m.content !== '') blocks.push({ type: 'text', text: m.content });
  } else {
    for (const part of arr(m.content)) {
      // Refusal parts are text the assistant said; empty text blocks are rejected by Anthropic.
      const text = isRecord(part) ? (str(part.text) ?? str(part.refusal)) : null;
      if (text !== null && text !== '') blocks.push({ type: 'text', text });
    }
  }
  arr(m.tool_calls).forEach((call, j) => {
    const param = `messages[${i}].tool_calls[${j}]`;
    if (!isRecord(call) || !isRecord(call.function) || typeof call.id !== 'string' || typeof call.function.name !== 'string') {
      throw invalidParam(param, 'must have an id and a function name');
    }
    blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: parseToolArguments(call.function.arguments, `${param}.function.arguments`) });
  });
  return blocks;
}

function toolResult(m: JsonObject, i: number): JsonObject {
  if (typeof m.tool_call_id !== 'string') throw invalidParam(`messages[${i}].tool_call_id`, 'must be a string');
  const content = typeof m.content === 'string' ? m.content : arr(m.content).filter(isRecord).map((part) => ({ type: 'text', text: str(part.text) ?? '' }));
  return { type: 'tool_result', tool_use_id: m.tool_call_id, content };
}
