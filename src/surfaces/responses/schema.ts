/**
 * The shape of an OpenAI Responses API request as Sluice's `POST /v1/responses` accepts it
 * (https://platform.openai.com/docs/api-reference/responses/create). The top level is checked
 * here, once, so translation can trust it; input items are checked while translating
 * (request.ts), where each one's position is known. A bad field is a 400 naming it.
 */
import { z } from 'zod';
import { formatPath } from '../../config/load.js';
import { SluiceError } from '../../errors.js';
import { describeIssue } from '../../lib/zod-issue.js';

const functionTool = z.looseObject({
  type: z.string({ error: 'must be a string naming the tool type' }),
  name: z.string().min(1).optional(),
  description: z.string().nullable().optional(),
  parameters: z.record(z.string(), z.unknown()).nullable().optional(),
  strict: z.boolean().nullable().optional(),
});

const toolChoice = z.union(
  [z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.string(), name: z.string().optional() })],
  { error: 'must be "none", "auto", "required" or {type: "function", name}' },
);

const format = z.looseObject({
  type: z.enum(['text', 'json_schema', 'json_object'], { error: 'must be "text", "json_schema" or "json_object"' }),
  name: z.string().optional(),
  description: z.string().optional(),
  schema: z.record(z.string(), z.unknown()).optional(),
  strict: z.boolean().nullable().optional(),
});

export const responsesRequestSchema = z.looseObject({
  model: z.string({ error: 'must be a string naming a model' }).min(1, 'must not be empty'),
  input: z.union([z.string(), z.array(z.unknown())], { error: 'must be a string or an array of input items' }).optional(),
  instructions: z.string().nullable().optional(),
  tools: z.array(functionTool, { error: 'must be an array of tools' }).nullable().optional(),
  tool_choice: toolChoice.nullable().optional(),
  text: z.looseObject({ format: format.nullable().optional(), verbosity: z.string().nullable().optional() }).nullable().optional(),
  reasoning: z.looseObject({ effort: z.string().nullable().optional(), summary: z.string().nullable().optional() }).nullable().optional(),
  max_output_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  metadata: z.record(z.string(), z.string({ error: 'must map keys to strings' })).nullable().optional(),
  user: z.string().nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  store: z.boolean().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  previous_response_id: z.string().min(1).nullable().optional(),
  background: z.boolean().nullable().optional(),
});

export type ResponsesRequest = z.output<typeof responsesRequestSchema>;

/** Checks a Responses request body; throws SLUICE_ERR_INVALID_REQUEST naming the first bad field. */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'The request body must be a JSON object.' });
  }
  const result = responsesRequestSchema.safeParse(body, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const param = formatPath(issue.path);
    throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid request: ${param === '' ? 'body' : `"${param}"`} ${describeIssue(issue)}.`, param });
  }
  return result.data;
}
