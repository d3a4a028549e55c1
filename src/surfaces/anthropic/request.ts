/**
 * Anthropic Messages request → OpenAI chat body, the gateway's canonical form, so a request
 * arriving on `POST /v1/messages` can be routed to any provider. Pure. Every Anthropic field
 * is mapped, rejected with a 400 naming it, or dropped as documented in docs/providers.md.
 */
import type { JsonObject } from '../../providers/types.js';
import type { SluiceError } from '../../errors.js';
import { isRecord } from '../../lib/json.js';
import { unsupportedOnSurface as unsupported } from '../../providers/http/errors.js';
import { parseAnthropicRequest, type AnthropicBlock, type AnthropicImageBlock, type AnthropicRequest } from './schema.js';

/** Fields translated below, or dropped on purpose (thinking, service_tier, cache_control). */
const KNOWN = new Set([
  'model', 'max_tokens', 'messages', 'system', 'stop_sequences', 'temperature', 'top_p', 'top_k', 'stream', 'metadata',
  'tools', 'tool_choice', 'output_config', 'thinking', 'service_tier', 'cache_control',
]);

/**
 * What the translation does with a feature the canonical form cannot carry (server tools,
 * parameters and blocks it does not know): strict refuses it at once (400 naming it); lenient
 * skips it and keeps the first refusal, for a request that may be passed through as sent to an
 * Anthropic provider, which takes them, and refused only for a target that needs the
 * translation (issue 18).
 */
export class Refusals {
  readonly strict: boolean;
  /** The first refusal a lenient translation skipped; null while none (always, when strict). */
  first: SluiceError | null = null;

  constructor(strict: boolean) {
    this.strict = strict;
  }

  refuse(err: SluiceError): void {
    if (this.strict) throw err;
    this.first ??= err;
  }
}

/** Strict translation keeps no state, so one instance serves every call. */
const STRICT = new Refusals(true);

/** Content block types the translation knows; a lenient one skips others before checking. */
const BLOCK_TYPES = new Set(['text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking']);

function isUnknownBlock(b: unknown): b is { type: string } {
  return isRecord(b) && typeof b.type === 'string' && !BLOCK_TYPES.has(b.type);
}

/** The body without content blocks of unknown types (server tool results, search results …); copied only when it has some. */
function knownBlocksOnly(body: unknown, refusals: Refusals): unknown {
  if (refusals.strict || !isRecord(body) || !Array.isArray(body.messages)) return body;
  const list: unknown[] = body.messages;
  let messages: unknown[] | null = null;
  list.forEach((m, i) => {
    if (!isRecord(m) || !Array.isArray(m.content)) return;
    const content: unknown[] = m.content;
    const at = content.findIndex(isUnknownBlock);
    if (at === -1) return;
    refusals.refuse(unsupported(`messages[${i}].content[${at}].type`, `${(content[at] as { type: string }).type} blocks`));
    messages ??= [...list];
    messages[i] = { ...m, content: content.filter((b) => !isUnknownBlock(b)) };
  });
  return messages === null ? body : { ...body, messages };
}

export function anthropicRequestToOpenAI(body: unknown, refusals: Refusals = STRICT): JsonObject {
  const req = parseAnthropicRequest(knownBlocksOnly(body, refusals));
  for (const key of Object.keys(req)) if (!KNOWN.has(key)) refusals.refuse(unsupported(key, `the ${key} parameter`));
  const out: JsonObject = { model: req.model, messages: [...systemMessage(req), ...req.messages.flatMap((m, i) => convertMessage(m, i, refusals))] };
  // max_tokens, not max_completion_tokens: every OpenAI-compatible API takes it (Mistral rejects
  // the newer name with a 422); only OpenAI's reasoning models insist on the newer one.
  out.max_tokens = req.max_tokens;
  if (req.stop_sequences !== undefined && req.stop_sequences.length > 0) out.stop = req.stop_sequences;
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.top_p !== undefined) out.top_p = req.top_p;
  // Not an OpenAI parameter: forwarded for targets that take it (Anthropic, Gemini, vLLM); OpenAI rejects it.
  if (req.top_k !== undefined) out.top_k = req.top_k;
  const tools = req.tools === undefined ? [] : req.tools.flatMap((t, i) => convertTool(t, i, refusals));
  if (tools.length > 0) out.tools = tools;
  // A choice among tools that were all skipped (server tools, lenient) would name none.
  if (req.tool_choice !== undefined && (tools.length > 0 || refusals.strict)) {
    const c = req.tool_choice;
    out.tool_choice = c.type === 'auto' ? 'auto' : c.type === 'any' ? 'required' : c.type === 'none' ? 'none' : { type: 'function', function: { name: c.name } };
    if (c.type !== 'none' && c.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
  }
  const user = req.metadata?.user_id;
  if (typeof user === 'string' && user !== '') out.user = user;
  convertOutputConfig(req, out, refusals);
  if (req.stream === true) {
    out.stream = true;
    // The Anthropic stream reports usage in message_delta, so it is always needed.
    out.stream_options = { include_usage: true };
  }
  return out;
}

function systemMessage(req: AnthropicRequest): JsonObject[] {
  if (req.system === undefined) return [];
  const text = typeof req.system === 'string' ? req.system : req.system.map((b) => b.text).join('\n\n');
  return text === '' ? [] : [{ role: 'system', content: text }];
}

function imagePart(block: AnthropicImageBlock): JsonObject {
  const s = block.source;
  const url = s.type === 'base64' ? `data:${String(s.media_type)};base64,${String(s.data)}` : String(s.url);
  return { type: 'image_url', image_url: { url } };
}

function convertMessage(m: AnthropicRequest['messages'][number], i: number, refusals: Refusals): JsonObject[] {
  if (typeof m.content === 'string') return [{ role: m.role, content: m.content }];
  return m.role === 'user' ? userMessages(m.content, i, refusals) : [assistantMessage(m.content, refusals)];
}

/** Tool results become `tool` messages, which OpenAI wants right after the assistant's calls. */
function userMessages(blocks: AnthropicBlock[], i: number, refusals: Refusals): JsonObject[] {
  const tools: JsonObject[] = [];
  const parts: JsonObject[] = [];
  blocks.forEach((b, j) => {
    const param = `messages[${i}].content[${j}]`;
    switch (b.type) {
      case 'text':
        parts.push({ type: 'text', text: b.text });
        break;
      case 'image':
        parts.push(imagePart(b));
        break;
      case 'document':
        if (b.source.type === 'base64' && b.source.media_type === 'application/pdf' && typeof b.source.data === 'string') {
          parts.push({ type: 'file', file: { filename: 'document.pdf', file_data: `data:application/pdf;base64,${b.source.data}` } });
          break;
        }
        refusals.refuse(unsupported(`${param}.source`, 'documents other than base64 PDFs'));
        break;
      case 'tool_result':
        tools.push({ role: 'tool', tool_call_id: b.tool_use_id, content: toolResultText(b, param, refusals) });
        break;
      default:
        refusals.refuse(unsupported(`${param}.type`, `${b.type} blocks in user messages`));
    }
  });
  if (parts.length === 0) return tools;
  const only = parts.length === 1 ? parts[0]! : null;
  return [...tools, { role: 'user', content: only !== null && only.type === 'text' ? only.text : parts }];
}

/** OpenAI tool messages carry text only, and have no error flag: a failed result says so in its text. */
function toolResultText(b: Extract<AnthropicBlock, { type: 'tool_result' }>, param: string, refusals: Refusals): string {
  let text: string;
  if (typeof b.content === 'string' || b.content === undefined) text = b.content ?? '';
  else {
    const parts: string[] = [];
    b.content.forEach((c, k) => {
      if (c.type === 'text') parts.push(c.text);
      else refusals.refuse(unsupported(`${param}.content[${k}]`, 'images in tool results'));
    });
    text = parts.join('\n');
  }
  return b.is_error === true ? `Error: ${text}` : text;
}

/** Thinking blocks are dropped: OpenAI-shaped targets cannot take them back. */
function assistantMessage(blocks: AnthropicBlock[], refusals: Refusals): JsonObject {
  let text: string | null = null;
  const calls: JsonObject[] = [];
  for (const b of blocks) {
    if (b.type === 'text') text = (text ?? '') + b.text;
    else if (b.type === 'tool_use') calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input) } });
    else if (b.type !== 'thinking' && b.type !== 'redacted_thinking') refusals.refuse(unsupported('messages', `${b.type} blocks in assistant messages`));
  }
  const out: JsonObject = { role: 'assistant', content: text };
  if (calls.length > 0) out.tool_calls = calls;
  return out;
}

function convertTool(t: NonNullable<AnthropicRequest['tools']>[number], i: number, refusals: Refusals): JsonObject[] {
  if (t.type !== undefined && t.type !== null && t.type !== 'custom') {
    refusals.refuse(unsupported(`tools[${i}].type`, `server tools (${t.type})`));
    return [];
  }
  const fn: JsonObject = { name: t.name };
  if (t.description !== undefined) fn.description = t.description;
  fn.parameters = t.input_schema ?? { type: 'object', properties: {} };
  if (t.strict === true) fn.strict = true;
  return [{ type: 'function', function: fn }];
}

function convertOutputConfig(req: AnthropicRequest, out: JsonObject, refusals: Refusals): void {
  const oc = req.output_config;
  if (oc === undefined) return;
  if (oc.format !== undefined && oc.format !== null) {
    out.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: oc.format.schema, strict: true } };
  }
  const effort = oc.effort;
  if (effort !== undefined && effort !== null) {
    if (effort !== 'low' && effort !== 'medium' && effort !== 'high') refusals.refuse(unsupported('output_config.effort', `effort ${JSON.stringify(effort)} (low, medium and high map to reasoning_effort)`));
    else out.reasoning_effort = effort;
  }
}
