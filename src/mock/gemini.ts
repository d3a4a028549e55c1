/**
 * The Gemini wire flavour of the standalone mock: `POST /v1beta/models/{model}:generateContent`,
 * `:streamGenerateContent` (SSE with `?alt=sse`, else a JSON array) and `:batchEmbedContents`,
 * with Google's error shape. Written from the Gemini API reference, independently of Sluice's
 * translators.
 *
 * A last user message containing `mock:block` is refused the way Gemini refuses a prompt:
 * `promptFeedback.blockReason: "SAFETY"` and no candidates, so safety handling is testable.
 */
import type { JsonObject } from '../providers/types.js';
import { embeddingVector, type Answer, type AnswerInput } from './engine.js';
import { dataFrames } from './http.js';
import { json, type MockAnswer, type MockRoute } from './flavour.js';
import { pickToolCall, type MockTool, type MockToolChoice } from './tools.js';
import { isRecord } from '../lib/json.js';

const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export function geminiErrorBody(status: number, message?: string): JsonObject {
  const name = STATUS_NAMES[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
  return { error: { code: status, message: message ?? `Mock fault: status ${status}.`, status: name } };
}

export const BLOCK_TRIGGER = 'mock:block';
const DEFAULT_DIMENSIONS = 768;
const MAX_DIMENSIONS = 8192;


function partsText(content: unknown): string {
  let out = '';
  const parts = isRecord(content) && Array.isArray(content.parts) ? content.parts : [];
  for (const p of parts) if (isRecord(p) && typeof p.text === 'string') out += p.text;
  return out;
}

function toolRequest(body: JsonObject): { tools: MockTool[]; choice: MockToolChoice } {
  const tools: MockTool[] = [];
  for (const t of Array.isArray(body.tools) ? body.tools : []) {
    const decls = isRecord(t) && Array.isArray(t.functionDeclarations) ? t.functionDeclarations : [];
    for (const d of decls) if (isRecord(d) && typeof d.name === 'string') tools.push({ name: d.name, schema: d.parametersJsonSchema ?? d.parameters });
  }
  const cfg = isRecord(body.toolConfig) && isRecord(body.toolConfig.functionCallingConfig) ? body.toolConfig.functionCallingConfig : {};
  const allowed = Array.isArray(cfg.allowedFunctionNames) ? cfg.allowedFunctionNames.filter((n): n is string => typeof n === 'string') : [];
  const choice: MockToolChoice = cfg.mode === 'NONE' ? 'none' : cfg.mode === 'ANY' ? (allowed.length > 0 ? { name: allowed[0]! } : 'required') : 'auto';
  return { tools, choice };
}

/** The last content when it is the user's own text (not a function response). */
function lastUserText(contents: unknown[]): string | null {
  const last: unknown = contents.at(-1);
  if (!isRecord(last) || (last.role !== undefined && last.role !== 'user')) return null;
  const parts = Array.isArray(last.parts) ? last.parts : [];
  if (parts.some((p) => isRecord(p) && p.functionResponse !== undefined)) return null;
  return partsText(last);
}

export function geminiAnswerInput(body: JsonObject, model: string): AnswerInput & { blocked: boolean } {
  const contents = Array.isArray(body.contents) ? body.contents : [];
  let chars = partsText(body.systemInstruction).length;
  for (const c of contents) chars += partsText(c).length;
  const gen = isRecord(body.generationConfig) ? body.generationConfig : {};
  const limit = typeof gen.maxOutputTokens === 'number' ? gen.maxOutputTokens : null;
  const userText = lastUserText(contents);
  return {
    canonical: JSON.stringify(['gemini', model, body.systemInstruction ?? null, contents, limit]),
    promptChars: chars,
    limit,
    toolCall: pickToolCall({ ...toolRequest(body), lastUserText: userText }),
    blocked: userText !== null && userText.includes(BLOCK_TRIGGER),
  };
}

function usage(a: Answer): JsonObject {
  return { promptTokenCount: a.usage.prompt_tokens, candidatesTokenCount: a.usage.completion_tokens, totalTokenCount: a.usage.total_tokens };
}

/** The whole answer as one response, or as the slices a stream sends (a word per event). */
function responses(a: Answer, model: string, blocked: boolean, stream: boolean): JsonObject[] {
  const base = { modelVersion: model, responseId: a.hash.slice(0, 24) };
  if (blocked) {
    const p = a.usage.prompt_tokens;
    return [{ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: p, totalTokenCount: p }, ...base }];
  }
  const finishReason = a.finishReason === 'length' ? 'MAX_TOKENS' : 'STOP';
  const candidate = (parts: JsonObject[], last: boolean): JsonObject => {
    const c: JsonObject = { content: { role: 'model', parts }, index: 0 };
    if (last) c.finishReason = finishReason;
    return c;
  };
  if (a.toolCall !== null) return [{ candidates: [candidate([{ functionCall: { name: a.toolCall.name, args: a.toolCall.input } }], true)], usageMetadata: usage(a), ...base }];
  if (!stream) return [{ candidates: [candidate([{ text: a.words.join(' ') }], true)], usageMetadata: usage(a), ...base }];
  return a.words.map((w, i) => {
    const last = i === a.words.length - 1;
    const r: JsonObject = { candidates: [candidate([{ text: i === 0 ? w : ` ${w}` }], last)], ...base };
    if (last) r.usageMetadata = usage(a);
    return r;
  });
}

function generateRoute(model: string, stream: boolean, sse: boolean): MockRoute {
  return {
    faultBody: (_engine, status) => geminiErrorBody(status),
    invalidBody: () => geminiErrorBody(400, 'Invalid JSON payload received.'),
    answer(engine, body): MockAnswer {
      if (!Array.isArray(body.contents)) return json(geminiErrorBody(400, '* GenerateContentRequest.contents: contents is not specified'), 400);
      const input = geminiAnswerInput(body, model);
      const list = responses(engine.answerFrom(input), model, input.blocked, stream);
      if (!stream) return json(list[0]);
      return sse ? { kind: 'sse', frames: dataFrames(list), trailer: '' } : json(list);
    },
  };
}

function embedRoute(): MockRoute {
  return {
    faultBody: (_engine, status) => geminiErrorBody(status),
    invalidBody: () => geminiErrorBody(400, 'Invalid JSON payload received.'),
    answer(_engine, body): MockAnswer {
      const requests = Array.isArray(body.requests) ? body.requests : [];
      const embeddings = requests.map((r) => {
        const req = isRecord(r) ? r : {};
        const d = req.outputDimensionality;
        const dims = typeof d === 'number' && Number.isInteger(d) && d > 0 ? Math.min(d, MAX_DIMENSIONS) : DEFAULT_DIMENSIONS;
        return { values: embeddingVector(partsText(req.content), dims) };
      });
      return json({ embeddings });
    },
  };
}

const GEMINI_PATH = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/;

export function geminiRoute(path: string, query: URLSearchParams): MockRoute | null {
  const m = GEMINI_PATH.exec(path);
  if (m === null) return null;
  const model = decodeURIComponent(m[1]!);
  if (m[2] === 'batchEmbedContents') return embedRoute();
  return generateRoute(model, m[2] === 'streamGenerateContent', query.get('alt') === 'sse');
}
