import { isRecord } from '../../lib/json.js';
import type { Endpoint, Usage } from '../../providers/types.js';

/**
 * A cached answer, as it was delivered: a complete JSON body, or the chunks of a stream
 * (OpenAI chunk JSON texts, without usage-only chunks: usage is kept apart so a replay can
 * include it or not, as its client asked). Either form can be served as the other.
 */
export interface CacheEntry {
  readonly format: 'json' | 'stream' | 'http';
  readonly status: number;
  /** The JSON answer (format `json`), or an HTTP service's body in base64 (format `http`). */
  readonly body: string | null;
  /** An HTTP service's response headers (format `http`); null otherwise. */
  readonly headers?: Readonly<Record<string, string>> | null;
  /** The request header values the answer varies on (its `Vary`), format `http`. */
  readonly vary?: Readonly<Record<string, string>> | null;
  /** The stream's chunks (format `stream`). */
  readonly chunks: readonly string[] | null;
  /** What the original answer consumed, replayed to clients that ask for stream usage. */
  readonly usage: Usage | null;
  /** Wall-clock ms until which the entry is fresh; after it, only stale-if-error serves it. */
  readonly freshUntil: number;
}

/** Approximate bytes an entry holds in memory (UTF-16 strings). */
export function entrySize(e: CacheEntry): number {
  let chars = e.body?.length ?? 0;
  if (e.chunks !== null) for (const c of e.chunks) chars += c.length + 16;
  return chars * 2 + 64;
}

export function serializeEntry(e: CacheEntry): string {
  return JSON.stringify(e);
}

/** Parses a stored entry; null when it is not one (a foreign or corrupt value). */
export function parseEntry(text: string): CacheEntry | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(v) || (v.format !== 'json' && v.format !== 'stream' && v.format !== 'http') || typeof v.status !== 'number' || typeof v.freshUntil !== 'number') return null;
  if (v.format === 'stream' ? !Array.isArray(v.chunks) || !v.chunks.every((c) => typeof c === 'string') : typeof v.body !== 'string') return null;
  if (v.format === 'http' && (!stringRecord(v.headers) || !stringRecord(v.vary))) return null;
  const u = v.usage;
  const usage =
    isRecord(u) && typeof u.promptTokens === 'number' && typeof u.completionTokens === 'number' && typeof u.totalTokens === 'number'
      ? { promptTokens: u.promptTokens, cachedPromptTokens: typeof u.cachedPromptTokens === 'number' ? u.cachedPromptTokens : 0, completionTokens: u.completionTokens, totalTokens: u.totalTokens }
      : null;
  return {
    format: v.format,
    status: v.status,
    body: typeof v.body === 'string' ? v.body : null,
    chunks: Array.isArray(v.chunks) ? (v.chunks as string[]) : null,
    usage,
    freshUntil: v.freshUntil,
    ...(v.format === 'http' ? { headers: v.headers as Record<string, string>, vary: v.vary as Record<string, string> } : {}),
  };
}

function stringRecord(v: unknown): boolean {
  return isRecord(v) && Object.values(v).every((x) => typeof x === 'string');
}

function wireUsage(u: Usage): Record<string, unknown> {
  const wire: Record<string, unknown> = { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.totalTokens };
  if (u.cachedPromptTokens > 0) wire.prompt_tokens_details = { cached_tokens: u.cachedPromptTokens };
  return wire;
}

interface ToolCallAcc {
  index: number;
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

interface ChoiceAcc {
  index: number;
  role: string;
  content: string | null;
  refusal: string | null;
  text: string;
  toolCalls: ToolCallAcc[];
  finish: unknown;
}

/** A JSON answer assembled from a stream's chunks: what the upstream would have answered without `stream`. */
export function chunksToJson(endpoint: Endpoint, chunks: readonly string[], usage: Usage | null): string {
  let id = '';
  let model = '';
  let created = 0;
  let fingerprint: unknown;
  const choices = new Map<number, ChoiceAcc>();
  for (const text of chunks) {
    const c = JSON.parse(text) as unknown;
    if (!isRecord(c)) continue;
    if (typeof c.id === 'string' && id === '') id = c.id;
    if (typeof c.model === 'string' && model === '') model = c.model;
    if (typeof c.created === 'number' && created === 0) created = c.created;
    if (c.system_fingerprint !== undefined) fingerprint = c.system_fingerprint;
    for (const ch of Array.isArray(c.choices) ? c.choices : []) {
      if (!isRecord(ch)) continue;
      const index = typeof ch.index === 'number' ? ch.index : 0;
      let acc = choices.get(index);
      if (acc === undefined) {
        acc = { index, role: 'assistant', content: null, refusal: null, text: '', toolCalls: [], finish: null };
        choices.set(index, acc);
      }
      if (ch.finish_reason !== null && ch.finish_reason !== undefined) acc.finish = ch.finish_reason;
      if (typeof ch.text === 'string') acc.text += ch.text;
      const d = ch.delta;
      if (!isRecord(d)) continue;
      if (typeof d.role === 'string') acc.role = d.role;
      if (typeof d.content === 'string') acc.content = (acc.content ?? '') + d.content;
      if (typeof d.refusal === 'string') acc.refusal = (acc.refusal ?? '') + d.refusal;
      for (const tc of Array.isArray(d.tool_calls) ? d.tool_calls : []) {
        if (!isRecord(tc)) continue;
        const i = typeof tc.index === 'number' ? tc.index : 0;
        let call = acc.toolCalls.find((t) => t.index === i);
        if (call === undefined) {
          call = { index: i, id: '', type: 'function', function: { name: '', arguments: '' } };
          acc.toolCalls.push(call);
        }
        if (typeof tc.id === 'string') call.id = tc.id;
        const f = tc.function;
        if (isRecord(f)) {
          if (typeof f.name === 'string') call.function.name += f.name;
          if (typeof f.arguments === 'string') call.function.arguments += f.arguments;
        }
      }
    }
  }
  const ordered = [...choices.values()].sort((a, b) => a.index - b.index);
  const out: Record<string, unknown> =
    endpoint === 'completions'
      ? { id, object: 'text_completion', created, model, choices: ordered.map((c) => ({ index: c.index, text: c.text, logprobs: null, finish_reason: c.finish })) }
      : {
          id,
          object: 'chat.completion',
          created,
          model,
          choices: ordered.map((c) => {
            const message: Record<string, unknown> = { role: c.role, content: c.content, refusal: c.refusal };
            if (c.toolCalls.length > 0) message.tool_calls = c.toolCalls.sort((a, b) => a.index - b.index).map((t) => ({ id: t.id, type: t.type, function: t.function }));
            return { index: c.index, message, logprobs: null, finish_reason: c.finish };
          }),
        };
  if (fingerprint !== undefined) out.system_fingerprint = fingerprint;
  if (usage !== null) out.usage = wireUsage(usage);
  return JSON.stringify(out);
}

/**
 * The chunks of a stream that delivers a JSON answer: per choice a role chunk, the content
 * (or text, refusal, tool calls) in one delta, and a chunk with the finish reason.
 */
export function jsonToChunks(endpoint: Endpoint, body: string): string[] {
  const v = JSON.parse(body) as unknown;
  if (!isRecord(v)) return [];
  const base = { id: v.id, object: endpoint === 'completions' ? 'text_completion' : 'chat.completion.chunk', created: v.created, model: v.model };
  const out: string[] = [];
  for (const ch of Array.isArray(v.choices) ? v.choices : []) {
    if (!isRecord(ch)) continue;
    const index = ch.index;
    if (endpoint === 'completions') {
      out.push(JSON.stringify({ ...base, choices: [{ index, text: ch.text ?? '', logprobs: null, finish_reason: null }] }));
      out.push(JSON.stringify({ ...base, choices: [{ index, text: '', logprobs: null, finish_reason: ch.finish_reason ?? 'stop' }] }));
      continue;
    }
    const m = isRecord(ch.message) ? ch.message : {};
    out.push(JSON.stringify({ ...base, choices: [{ index, delta: { role: m.role ?? 'assistant', content: '' }, logprobs: null, finish_reason: null }] }));
    const delta: Record<string, unknown> = {};
    if (typeof m.content === 'string' && m.content !== '') delta.content = m.content;
    if (typeof m.refusal === 'string') delta.refusal = m.refusal;
    if (Array.isArray(m.tool_calls)) delta.tool_calls = m.tool_calls.map((t: unknown, i: number) => (isRecord(t) ? { index: i, ...t } : t));
    if (Object.keys(delta).length > 0) out.push(JSON.stringify({ ...base, choices: [{ index, delta, logprobs: null, finish_reason: null }] }));
    out.push(JSON.stringify({ ...base, choices: [{ index, delta: {}, logprobs: null, finish_reason: ch.finish_reason ?? 'stop' }] }));
  }
  return out;
}

/** The usage-only chunk OpenAI sends last when a client asks for `include_usage`. */
export function usageChunk(endpoint: Endpoint, firstChunk: string | undefined, usage: Usage): string {
  const first = firstChunk === undefined ? {} : (JSON.parse(firstChunk) as Record<string, unknown>);
  return JSON.stringify({ id: first.id, object: first.object ?? (endpoint === 'completions' ? 'text_completion' : 'chat.completion.chunk'), created: first.created, model: first.model, choices: [], usage: wireUsage(usage) });
}

/** Whether a chunk is the usage-only chunk that ends a stream whose client asked for usage. */
export function isUsageOnlyChunk(text: string): boolean {
  // Cheap pre-check before a parse: only the final usage chunk has an empty choices list.
  if (!text.includes('"choices":[]')) return false;
  const v = JSON.parse(text) as unknown;
  return isRecord(v) && Array.isArray(v.choices) && v.choices.length === 0 && isRecord(v.usage);
}
