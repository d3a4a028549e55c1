/**
 * Responses API request → OpenAI chat body, the gateway's canonical form, so a request arriving
 * on `POST /v1/responses` is routed, limited, cached and recorded as any chat request is, to any
 * provider. Pure. Every field is mapped, rejected with a 400 naming it, or dropped as documented
 * in docs/providers.md ("The Responses surface").
 */
import { SluiceError } from '../../errors.js';
import type { JsonObject } from '../../providers/types.js';
import { isRecord, str } from '../../providers/http/json.js';
import { parseResponsesRequest, type ResponsesRequest } from './schema.js';

/** Fields mapped below, or dropped on purpose (include, truncation, service_tier …). */
const KNOWN = new Set([
  'model', 'input', 'instructions', 'tools', 'tool_choice', 'text', 'reasoning', 'max_output_tokens', 'temperature', 'top_p',
  'metadata', 'user', 'parallel_tool_calls', 'store', 'stream', 'previous_response_id', 'background',
  'include', 'truncation', 'service_tier', 'prompt_cache_key', 'prompt_cache_retention', 'safety_identifier', 'stream_options',
]);

/** A field or value of a Responses request that Sluice cannot carry to a chat-completions target. */
export function unsupportedOnResponses(param: string, what: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Not supported on /v1/responses: ${what}.`, param });
}

function invalid(param: string, what: string): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid request: "${param}" ${what}.`, param });
}

/** One request translated: what the surface keeps (echo, storage) and the chat body it routes. */
export interface ResponsesTurn {
  readonly request: ResponsesRequest;
  /** This turn's input as Responses items (a string input is one user message item). */
  readonly items: JsonObject[];
  /** This turn's input as chat messages, without the instructions. */
  readonly messages: JsonObject[];
  /** The chat body without messages (added by `chatBody`, after any earlier turns). */
  readonly settings: JsonObject;
}

/** Validates and translates a Responses request; throws a SluiceError naming the bad field. */
export function responsesRequestToTurn(body: unknown): ResponsesTurn {
  return turnOf(parseResponsesRequest(body));
}

/** Translates a checked Responses request; throws a SluiceError naming what chat cannot carry. */
export function turnOf(req: ResponsesRequest): ResponsesTurn {
  for (const key of Object.keys(req)) if (!KNOWN.has(key)) throw unsupportedOnResponses(key, `the ${key} parameter`);
  if (req.background === true) throw unsupportedOnResponses('background', 'background responses');
  const items = inputItems(req.input);
  const messages = itemsToMessages(items);
  const settings: JsonObject = { model: req.model };
  if (req.max_output_tokens !== undefined && req.max_output_tokens !== null) settings.max_completion_tokens = req.max_output_tokens;
  if (req.temperature !== undefined && req.temperature !== null) settings.temperature = req.temperature;
  if (req.top_p !== undefined && req.top_p !== null) settings.top_p = req.top_p;
  if (typeof req.user === 'string' && req.user !== '') settings.user = req.user;
  if (req.tools !== undefined && req.tools !== null && req.tools.length > 0) settings.tools = req.tools.map(convertTool);
  if (req.tool_choice !== undefined && req.tool_choice !== null) settings.tool_choice = convertToolChoice(req.tool_choice);
  if (req.parallel_tool_calls !== undefined && req.parallel_tool_calls !== null && settings.tools !== undefined) settings.parallel_tool_calls = req.parallel_tool_calls;
  const format = req.text?.format;
  if (format !== undefined && format !== null && format.type !== 'text') settings.response_format = convertFormat(format);
  const effort = req.reasoning?.effort;
  if (effort !== undefined && effort !== null) settings.reasoning_effort = effort;
  if (req.stream === true) {
    settings.stream = true;
    // response.completed carries usage, so it is always asked for.
    settings.stream_options = { include_usage: true };
  }
  return { request: req, items, messages, settings };
}

/**
 * For a request some target may take as it came (pass-through, issue 18) but that cannot be
 * translated: the turn with what chat cannot carry left out. Its chat body only routes, limits
 * and estimates; a target that needs the translation answers with the translation's error.
 */
export function passThroughTurn(req: ResponsesRequest): ResponsesTurn {
  const items = inputItems(req.input);
  const settings: JsonObject = { model: req.model };
  if (req.max_output_tokens !== undefined && req.max_output_tokens !== null) settings.max_completion_tokens = req.max_output_tokens;
  if (req.temperature !== undefined && req.temperature !== null) settings.temperature = req.temperature;
  if (req.stream === true) {
    settings.stream = true;
    settings.stream_options = { include_usage: true };
  }
  const messages = historyToMessages(items);
  // Nothing chat can carry: the input's JSON stands in, for estimates only.
  if (messages.length === 0 && items.length > 0) messages.push({ role: 'user', content: JSON.stringify(items) });
  return { request: req, items, messages, settings };
}

/** Parts of a message a chat target can be given (text, images by URL, inline files). */
function translatablePart(p: unknown): boolean {
  if (!isRecord(p)) return false;
  if (p.type === 'input_text' || p.type === 'output_text' || p.type === 'text') return typeof p.text === 'string';
  if (p.type === 'refusal') return typeof p.refusal === 'string';
  if (p.type === 'input_image') return typeof p.image_url === 'string';
  if (p.type === 'input_file') return typeof p.file_data === 'string';
  return false;
}

/**
 * Earlier turns' items (as stored, issue 18) → chat messages, for a chat target. Lenient where
 * `itemsToMessages` refuses: a turn passed through may hold items no chat target can take
 * (server tool calls such as web_search_call, reasoning, file references); they are left out,
 * as their results are already in the messages that follow them.
 */
export function historyToMessages(items: readonly JsonObject[]): JsonObject[] {
  const kept: JsonObject[] = [];
  for (const item of items) {
    const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
    if (type === 'function_call' || type === 'function_call_output') {
      if (typeof item.call_id === 'string') kept.push(item);
    } else if (type === 'message' && typeof item.role === 'string' && ROLES.has(item.role)) {
      if (typeof item.content === 'string') kept.push(item);
      else if (Array.isArray(item.content)) {
        const content = item.content.filter(translatablePart);
        if (content.length > 0) kept.push({ ...item, content });
      }
    }
  }
  return itemsToMessages(kept);
}

/**
 * Chat messages (a stored response written before migration 9 kept only these) → Responses
 * input items, for a target that takes the Responses API itself.
 */
export function messagesToItems(messages: readonly JsonObject[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const m of messages) {
    if (m.role === 'tool') {
      out.push({ type: 'function_call_output', call_id: m.tool_call_id, output: typeof m.content === 'string' ? m.content : JSON.stringify(m.content) });
      continue;
    }
    const content = m.content;
    if (typeof content === 'string' && content !== '') out.push({ type: 'message', role: m.role, content });
    else if (Array.isArray(content) && content.length > 0) out.push({ type: 'message', role: m.role, content: content.map(chatPartToItemPart) });
    for (const call of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
      if (!isRecord(call) || !isRecord(call.function)) continue;
      out.push({ type: 'function_call', call_id: call.id, name: call.function.name, arguments: call.function.arguments });
    }
  }
  return out;
}

function chatPartToItemPart(p: unknown): unknown {
  if (!isRecord(p)) return p;
  if (p.type === 'text') return { type: 'input_text', text: p.text };
  if (p.type === 'image_url' && isRecord(p.image_url)) return { type: 'input_image', image_url: p.image_url.url, detail: p.image_url.detail ?? 'auto' };
  if (p.type === 'file' && isRecord(p.file)) return { type: 'input_file', filename: p.file.filename, file_data: p.file.file_data };
  return p;
}

/** The chat body to route: instructions, then earlier turns' messages, then this turn's. */
export function chatBody(turn: ResponsesTurn, earlier: readonly JsonObject[]): JsonObject {
  const instructions = turn.request.instructions;
  const system = typeof instructions === 'string' && instructions !== '' ? [{ role: 'system', content: instructions }] : [];
  return { ...turn.settings, messages: [...system, ...earlier, ...turn.messages] };
}

/** The input as a list of items, each checked to be an object with a known type. */
export function inputItems(input: ResponsesRequest['input']): JsonObject[] {
  if (input === undefined) return [];
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }];
  return input.map((item, i) => {
    if (!isRecord(item)) throw invalid(`input[${i}]`, 'must be an input item object');
    return item;
  });
}

/**
 * Items → chat messages. Consecutive function_call items (and the assistant message before
 * them) become one assistant message with tool_calls, as chat completions wants them.
 */
export function itemsToMessages(items: readonly JsonObject[]): JsonObject[] {
  const out: JsonObject[] = [];
  items.forEach((item, i) => {
    const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
    switch (type) {
      case 'message':
        out.push(messageOf(item, `input[${i}]`));
        break;
      case 'function_call': {
        const callId = str(item.call_id);
        const name = str(item.name);
        if (callId === null) throw invalid(`input[${i}].call_id`, 'must be a string');
        if (name === null) throw invalid(`input[${i}].name`, 'must be a string');
        const args = item.arguments === undefined ? '{}' : str(item.arguments);
        if (args === null) throw invalid(`input[${i}].arguments`, 'must be a string of JSON');
        const call = { id: callId, type: 'function', function: { name, arguments: args } };
        const last = out.at(-1);
        if (last !== undefined && last.role === 'assistant') {
          last.tool_calls = [...((last.tool_calls as JsonObject[] | undefined) ?? []), call];
        } else {
          out.push({ role: 'assistant', content: null, tool_calls: [call] });
        }
        break;
      }
      case 'function_call_output': {
        const callId = str(item.call_id);
        if (callId === null) throw invalid(`input[${i}].call_id`, 'must be a string');
        out.push({ role: 'tool', tool_call_id: callId, content: textOf(item.output, `input[${i}].output`) });
        break;
      }
      case 'reasoning':
        // Reasoning items a client sends back (encrypted content, summaries) cannot be given to a chat target.
        break;
      default:
        throw unsupportedOnResponses(`input[${i}].type`, `input items of type ${JSON.stringify(type ?? null)} (message, function_call and function_call_output are)`);
    }
  });
  return out;
}

const ROLES = new Set(['user', 'assistant', 'system', 'developer']);

function messageOf(item: JsonObject, param: string): JsonObject {
  const role = str(item.role);
  if (role === null || !ROLES.has(role)) throw invalid(`${param}.role`, 'must be "user", "assistant", "system" or "developer"');
  // Not every chat target knows `developer`; for those that do it means what `system` means.
  const chatRole = role === 'developer' ? 'system' : role;
  const content = item.content;
  if (typeof content === 'string') return { role: chatRole, content };
  if (!Array.isArray(content)) throw invalid(`${param}.content`, 'must be a string or an array of content parts');
  if (chatRole !== 'user') return { role: chatRole, content: textOf(content, `${param}.content`) };
  const parts = content.map((p, j) => userPart(p, `${param}.content[${j}]`));
  const only = parts.length === 1 ? parts[0]! : null;
  return { role: 'user', content: only !== null && only.type === 'text' ? only.text : parts };
}

function userPart(p: unknown, param: string): JsonObject {
  if (!isRecord(p)) throw invalid(param, 'must be a content part object');
  switch (p.type) {
    case 'input_text':
    case 'output_text':
    case 'text':
      if (typeof p.text !== 'string') throw invalid(`${param}.text`, 'must be a string');
      return { type: 'text', text: p.text };
    case 'input_image': {
      const url = str(p.image_url);
      if (url === null) throw unsupportedOnResponses(`${param}.image_url`, 'images other than by URL or data: URL (file_id)');
      const image: JsonObject = { url };
      if (typeof p.detail === 'string') image.detail = p.detail;
      return { type: 'image_url', image_url: image };
    }
    case 'input_file': {
      const data = str(p.file_data);
      if (data === null) throw unsupportedOnResponses(`${param}.file_data`, 'files other than inline file_data (file_id, file_url)');
      return { type: 'file', file: { filename: str(p.filename) ?? 'file', file_data: data } };
    }
    default:
      throw unsupportedOnResponses(`${param}.type`, `content parts of type ${JSON.stringify(p.type ?? null)}`);
  }
}

/** Text of a string or of text parts (assistant and system messages, tool outputs). */
function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(param, 'must be a string or an array of content parts');
  let out = '';
  content.forEach((p, j) => {
    if (!isRecord(p)) throw invalid(`${param}[${j}]`, 'must be a content part object');
    if (p.type === 'refusal' && typeof p.refusal === 'string') out += p.refusal;
    else if (typeof p.text === 'string' && (p.type === 'input_text' || p.type === 'output_text' || p.type === 'text')) out += p.text;
    else throw unsupportedOnResponses(`${param}[${j}].type`, `content parts of type ${JSON.stringify(p.type ?? null)} here (text only)`);
  });
  return out;
}

function convertTool(t: NonNullable<ResponsesRequest['tools']>[number], i: number): JsonObject {
  if (t.type !== 'function') throw unsupportedOnResponses(`tools[${i}].type`, `${t.type} tools (only function tools can be translated)`);
  if (t.name === undefined) throw invalid(`tools[${i}].name`, 'is required');
  const fn: JsonObject = { name: t.name };
  if (typeof t.description === 'string') fn.description = t.description;
  fn.parameters = t.parameters ?? { type: 'object', properties: {} };
  if (typeof t.strict === 'boolean') fn.strict = t.strict;
  return { type: 'function', function: fn };
}

function convertToolChoice(c: NonNullable<ResponsesRequest['tool_choice']>): JsonObject[string] {
  if (typeof c === 'string') return c;
  if (c.type !== 'function') throw unsupportedOnResponses('tool_choice.type', `tool_choice of type ${JSON.stringify(c.type)}`);
  if (c.name === undefined) throw invalid('tool_choice.name', 'is required');
  return { type: 'function', function: { name: c.name } };
}

function convertFormat(f: NonNullable<NonNullable<ResponsesRequest['text']>['format']>): JsonObject {
  if (f.type === 'json_object') return { type: 'json_object' };
  if (f.schema === undefined) throw invalid('text.format.schema', 'is required');
  const schema: JsonObject = { name: f.name ?? 'output', schema: f.schema };
  if (typeof f.strict === 'boolean') schema.strict = f.strict;
  if (f.description !== undefined) schema.description = f.description;
  return { type: 'json_schema', json_schema: schema };
}
