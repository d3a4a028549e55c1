/**
 * OpenAI chat body → Gemini `generateContent` body. Pure. Like the Anthropic translation,
 * every OpenAI parameter is mapped, rejected with a 400 naming it, or dropped as documented in
 * docs/providers.md; unknown keys are forwarded, so Gemini-only fields (`safetySettings`,
 * `cachedContent`) reach Gemini and Gemini rejects typos itself.
 */
import type { JsonObject } from '../types.js';
import { invalidParam, unsupported } from '../http/errors.js';
import { arr, isRecord, parseDataUrl, parseObject, parseToolArguments, str, textOfContent } from '../http/json.js';

type Role = 'user' | 'model';
interface Turn {
  role: Role;
  parts: JsonObject[];
}

const HANDLED = new Set([
  'model', 'messages', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'top_k', 'stop', 'stream', 'stream_options',
  'tools', 'tool_choice', 'n', 'presence_penalty', 'frequency_penalty', 'seed', 'response_format', 'generationConfig',
  'logprobs', 'top_logprobs', 'logit_bias', 'reasoning_effort', 'modalities', 'audio', 'prediction', 'web_search_options',
  'functions', 'function_call', 'verbosity',
  // Dropped: no Gemini counterpart, and the answer means the same without them.
  'parallel_tool_calls', 'user', 'store', 'metadata', 'service_tier', 'prompt_cache_key', 'safety_identifier',
]);

/** Gemini model ids are path segments; `models/` is accepted and stripped. */
export function geminiModelId(model: unknown): string {
  return encodeURIComponent(String(model).replace(/^models\//, ''));
}

export function geminiRequestFromOpenAI(body: JsonObject, provider: string): JsonObject {
  rejectUnsupported(body, provider);
  const { system, turns } = convertMessages(body.messages, provider);
  const out: JsonObject = { contents: turns };
  if (system.length > 0) out.systemInstruction = { parts: system.map((text) => ({ text })) };
  const tools = convertTools(body.tools, provider);
  if (tools.length > 0) {
    out.tools = [{ functionDeclarations: tools }];
    const config = convertToolChoice(body.tool_choice);
    if (config !== null) out.toolConfig = { functionCallingConfig: config };
  }
  const generation = { ...(isRecord(body.generationConfig) ? body.generationConfig : {}), ...generationConfig(body, provider) };
  if (Object.keys(generation).length > 0) out.generationConfig = generation;
  for (const [key, value] of Object.entries(body)) if (!HANDLED.has(key)) out[key] = value;
  return out;
}

function rejectUnsupported(body: JsonObject, p: string): void {
  if (body.logprobs === true) throw unsupported(p, 'logprobs', 'logprobs');
  if (body.top_logprobs !== undefined && body.top_logprobs !== null) throw unsupported(p, 'top_logprobs', 'top_logprobs');
  if (isRecord(body.logit_bias) && Object.keys(body.logit_bias).length > 0) throw unsupported(p, 'logit_bias', 'logit_bias');
  if (arr(body.modalities).some((m) => m !== 'text')) throw unsupported(p, 'modalities', 'output modalities other than text');
  for (const key of ['audio', 'prediction', 'web_search_options', 'reasoning_effort', 'verbosity'] as const) {
    if (body[key] !== undefined && body[key] !== null) throw unsupported(p, key, key);
  }
  if (body.functions !== undefined || body.function_call !== undefined) {
    throw unsupported(p, body.functions !== undefined ? 'functions' : 'function_call', 'the legacy functions API (use tools)');
  }
}

function generationConfig(body: JsonObject, p: string): JsonObject {
  const g: JsonObject = {};
  const max = body.max_completion_tokens ?? body.max_tokens;
  if (typeof max === 'number') g.maxOutputTokens = max;
  if (typeof body.temperature === 'number') g.temperature = body.temperature;
  if (typeof body.top_p === 'number') g.topP = body.top_p;
  // Not OpenAI's, but Anthropic clients send it through /v1/messages, and Gemini takes it.
  if (typeof body.top_k === 'number') g.topK = body.top_k;
  if (typeof body.stop === 'string') g.stopSequences = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length > 0) g.stopSequences = body.stop;
  if (typeof body.n === 'number' && body.n > 1) g.candidateCount = body.n;
  if (typeof body.presence_penalty === 'number' && body.presence_penalty !== 0) g.presencePenalty = body.presence_penalty;
  if (typeof body.frequency_penalty === 'number' && body.frequency_penalty !== 0) g.frequencyPenalty = body.frequency_penalty;
  if (typeof body.seed === 'number') g.seed = body.seed;
  const rf = body.response_format;
  if (isRecord(rf) && rf.type === 'json_object') g.responseMimeType = 'application/json';
  else if (isRecord(rf) && rf.type === 'json_schema') {
    if (!isRecord(rf.json_schema) || !isRecord(rf.json_schema.schema)) throw invalidParam('response_format.json_schema.schema', 'must be an object');
    g.responseMimeType = 'application/json';
    g.responseJsonSchema = rf.json_schema.schema;
  } else if (isRecord(rf) && rf.type !== 'text') throw unsupported(p, 'response_format', `response_format ${JSON.stringify(rf.type)}`);
  return g;
}

function convertTools(tools: unknown, p: string): JsonObject[] {
  return arr(tools).map((t, i) => {
    if (!isRecord(t) || t.type !== 'function' || !isRecord(t.function)) throw unsupported(p, `tools[${i}].type`, 'tools other than functions');
    const f = t.function;
    if (typeof f.name !== 'string') throw invalidParam(`tools[${i}].function.name`, 'must be a string');
    const decl: JsonObject = { name: f.name };
    if (typeof f.description === 'string') decl.description = f.description;
    // parametersJsonSchema takes JSON Schema as OpenAI clients write it; `parameters` takes only
    // Gemini's OpenAPI subset and rejects keywords such as additionalProperties.
    if (isRecord(f.parameters)) decl.parametersJsonSchema = f.parameters;
    return decl;
  });
}

function convertToolChoice(choice: unknown): JsonObject | null {
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'required') return { mode: 'ANY' };
  if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') return { mode: 'ANY', allowedFunctionNames: [choice.function.name] };
  if (choice !== undefined && choice !== null) throw invalidParam('tool_choice', 'must be "none", "auto", "required" or a named function');
  return null;
}

function convertMessages(messages: unknown, p: string): { system: string[]; turns: Turn[] } {
  const system: string[] = [];
  const turns: Turn[] = [];
  // OpenAI tool results name only the call id; Gemini's functionResponse needs the function name.
  const callNames = new Map<string, string>();
  const push = (role: Role, parts: JsonObject[]): void => {
    if (parts.length === 0) return;
    const last = turns.at(-1);
    if (last !== undefined && last.role === role) last.parts.push(...parts);
    else turns.push({ role, parts });
  };
  arr(messages).forEach((m, i) => {
    if (!isRecord(m)) throw invalidParam(`messages[${i}]`, 'must be an object');
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(textOfContent(m.content));
        break;
      case 'user':
        push('user', userParts(m.content, i, p));
        break;
      case 'assistant':
        push('model', modelParts(m, i, callNames));
        break;
      case 'tool':
        push('user', [functionResponse(m, i, callNames)]);
        break;
      default:
        throw unsupported(p, `messages[${i}].role`, `messages with role ${JSON.stringify(m.role)}`);
    }
  });
  return { system, turns };
}

const IMAGE_TYPES: Readonly<Record<string, string>> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', heic: 'image/heic', heif: 'image/heif' };

function userParts(content: unknown, i: number, p: string): JsonObject[] {
  if (typeof content === 'string') return [{ text: content }];
  if (!Array.isArray(content)) throw invalidParam(`messages[${i}].content`, 'must be a string or an array of parts');
  return content.map((part, j) => {
    const param = `messages[${i}].content[${j}]`;
    if (!isRecord(part)) throw invalidParam(param, 'must be an object');
    if (part.type === 'text') return { text: str(part.text) ?? '' };
    if (part.type === 'image_url') {
      const url = isRecord(part.image_url) ? str(part.image_url.url) : null;
      if (url === null) throw invalidParam(`${param}.image_url.url`, 'must be a string');
      const data = parseDataUrl(url);
      if (data !== null) return { inlineData: { mimeType: data.mediaType, data: data.data } };
      if (!/^https?:\/\//i.test(url)) throw invalidParam(`${param}.image_url.url`, 'must be an http(s) URL or a base64 data: URL');
      const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase() ?? '';
      const mimeType = IMAGE_TYPES[ext];
      return { fileData: mimeType === undefined ? { fileUri: url } : { mimeType, fileUri: url } };
    }
    if (part.type === 'input_audio' && isRecord(part.input_audio) && typeof part.input_audio.data === 'string') {
      return { inlineData: { mimeType: `audio/${str(part.input_audio.format) ?? 'wav'}`, data: part.input_audio.data } };
    }
    if (part.type === 'file' && isRecord(part.file) && typeof part.file.file_data === 'string') {
      const data = parseDataUrl(part.file.file_data);
      if (data !== null) return { inlineData: { mimeType: data.mediaType, data: data.data } };
    }
    throw unsupported(p, `${param}.type`, `content parts of type ${JSON.stringify(part.type)} (text, image_url, input_audio and file_data are supported)`);
  });
}

function modelParts(m: JsonObject, i: number, callNames: Map<string, string>): JsonObject[] {
  const parts: JsonObject[] = [];
  const text = textOfContent(m.content);
  if (text !== '') parts.push({ text });
  arr(m.tool_calls).forEach((call, j) => {
    const param = `messages[${i}].tool_calls[${j}]`;
    if (!isRecord(call) || !isRecord(call.function) || typeof call.id !== 'string' || typeof call.function.name !== 'string') {
      throw invalidParam(param, 'must have an id and a function name');
    }
    callNames.set(call.id, call.function.name);
    parts.push({ functionCall: { name: call.function.name, args: parseToolArguments(call.function.arguments, `${param}.function.arguments`) } });
  });
  return parts;
}

/** Gemini wants an object as the response; other tool output is wrapped as `{content: text}`. */
function functionResponse(m: JsonObject, i: number, callNames: Map<string, string>): JsonObject {
  const id = m.tool_call_id;
  const name = typeof id === 'string' ? callNames.get(id) : undefined;
  if (name === undefined) throw invalidParam(`messages[${i}].tool_call_id`, 'must name a tool call of an earlier assistant message');
  const text = textOfContent(m.content);
  return { functionResponse: { name, response: parseObject(text) ?? { content: text } } };
}
