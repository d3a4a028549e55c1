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
  const result = schemas[endpoint].safeParse(body, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const param = formatPath(issue.path);
    throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid request: ${param === '' ? 'body' : `"${param}"`} ${describeIssue(issue)}.`, param });
  }
  return body as JsonObject;
}
