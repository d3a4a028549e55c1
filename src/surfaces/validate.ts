import { z } from 'zod';
import { SluiceError } from '../errors.js';
import { formatPath } from '../config/load.js';
import { describeIssue } from '../lib/zod-issue.js';
import type { Endpoint, JsonObject } from '../providers/types.js';

/**
 * Shape checks for client bodies. Only the fields the gateway relies on, or whose wrong type
 * an upstream would reject less clearly, are checked; every other field passes through.
 */
const model = z.string({ error: 'must be a string naming a model' }).min(1, 'must not be empty');
const positiveInt = z.number().int().positive();
const tokenArray = z.array(z.number().int());
const textOrTokens = z.union([z.string(), z.array(z.string()), tokenArray, z.array(tokenArray)], {
  error: 'must be a string, an array of strings, or token arrays',
});

const common = {
  model,
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: positiveInt.nullable().optional(),
  n: positiveInt.nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  stop: z.union([z.string(), z.array(z.string())]).nullable().optional(),
};

const message = z.looseObject({ role: z.string({ error: 'must be a string' }) }, { error: 'must be an object with a role' });

const schemas: Record<Endpoint, z.ZodType> = {
  chat: z.looseObject({
    ...common,
    messages: z.array(message, { error: 'must be an array of messages' }).min(1, 'must contain at least one message'),
    max_completion_tokens: positiveInt.nullable().optional(),
  }),
  completions: z.looseObject({ ...common, prompt: textOrTokens }),
  embeddings: z.looseObject({
    model,
    input: textOrTokens.refine((v) => v.length > 0, 'must not be empty'),
    dimensions: positiveInt.optional(),
    encoding_format: z.enum(['float', 'base64']).optional(),
  }),
};

/** Checks a parsed body for an endpoint; throws a SluiceError naming the first bad field. */
export function validateBody(endpoint: Endpoint, body: unknown): JsonObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'The request body must be a JSON object.' });
  }
  // zod was 3-5% of the gateway's CPU per request (profile, issue #7). A well-formed body
  // passes the hand check below; anything it is unsure of goes to the schema, which then
  // accepts it or names the problem exactly as before.
  if (quickChecks[endpoint](body as JsonObject)) return body as JsonObject;
  const result = schemas[endpoint].safeParse(body, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const param = formatPath(issue.path);
    throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid request: ${param === '' ? 'body' : `"${param}"`} ${describeIssue(issue)}.`, param });
  }
  return body as JsonObject;
}

/**
 * Hand checks that accept only bodies the schemas above accept (a test holds them to that).
 * They may refuse a valid body — the schema then decides — but must never accept an invalid one.
 */
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const absent = (v: unknown): boolean => v === undefined || v === null;
const optPositiveInt = (v: unknown): boolean => absent(v) || (Number.isSafeInteger(v) && (v as number) > 0);
const optRange = (v: unknown, max: number): boolean => absent(v) || (typeof v === 'number' && v >= 0 && v <= max);
const isStringArray = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

function quickCommon(b: JsonObject): boolean {
  const so = b.stream_options;
  return (
    typeof b.model === 'string' &&
    b.model !== '' &&
    (b.stream === undefined || typeof b.stream === 'boolean') &&
    (absent(so) || (isObject(so) && (so.include_usage === undefined || typeof so.include_usage === 'boolean'))) &&
    optPositiveInt(b.max_tokens) &&
    optPositiveInt(b.n) &&
    optRange(b.temperature, 2) &&
    optRange(b.top_p, 1) &&
    (absent(b.stop) || typeof b.stop === 'string' || isStringArray(b.stop))
  );
}

const isMessage = (m: unknown): boolean => isObject(m) && typeof m.role === 'string';
const isText = (v: unknown): boolean => (typeof v === 'string' || isStringArray(v)) && (v as string | string[]).length > 0;

export const quickChecks: Record<Endpoint, (body: JsonObject) => boolean> = {
  chat: (b) => quickCommon(b) && Array.isArray(b.messages) && b.messages.length > 0 && b.messages.every(isMessage) && optPositiveInt(b.max_completion_tokens),
  completions: (b) => quickCommon(b) && isText(b.prompt),
  embeddings: (b) =>
    typeof b.model === 'string' &&
    b.model !== '' &&
    isText(b.input) &&
    (b.dimensions === undefined || (Number.isSafeInteger(b.dimensions) && (b.dimensions as number) > 0)) &&
    (b.encoding_format === undefined || b.encoding_format === 'float' || b.encoding_format === 'base64'),
};

/** The schema's verdict alone (for the test that holds the hand checks to it). */
export function schemaAccepts(endpoint: Endpoint, body: unknown): boolean {
  return schemas[endpoint].safeParse(body).success;
}
