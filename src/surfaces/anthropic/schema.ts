/**
 * The shape of an Anthropic Messages request, as Sluice's `POST /v1/messages` accepts it
 * (https://docs.anthropic.com/en/api/messages). Checked once at the door so translation can
 * trust its input; a bad field is a 400 naming it.
 */
import { z } from 'zod';
import { formatPath } from '../../config/load.js';
import { SluiceError } from '../../errors.js';
import { describeIssue } from '../../lib/zod-issue.js';

const text = z.looseObject({ type: z.literal('text'), text: z.string({ error: 'must be a string' }) });

const image = z.looseObject({
  type: z.literal('image'),
  source: z.discriminatedUnion(
    'type',
    [
      z.looseObject({ type: z.literal('base64'), media_type: z.string(), data: z.string() }),
      z.looseObject({ type: z.literal('url'), url: z.string() }),
    ],
    { error: 'must be a base64 or url image source' },
  ),
});

const document = z.looseObject({ type: z.literal('document'), source: z.looseObject({ type: z.string() }) });

const toolUse = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string(),
  name: z.string(),
  input: z.record(z.string(), z.unknown(), { error: 'must be an object' }),
});

const toolResult = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.union([z.string(), z.array(z.union([text, image]))], { error: 'must be a string or text and image blocks' }).optional(),
  is_error: z.boolean().optional(),
});

const thinking = z.looseObject({ type: z.enum(['thinking', 'redacted_thinking']) });

const block = z.discriminatedUnion('type', [text, image, document, toolUse, toolResult, thinking], {
  error: 'must be a content block of type text, image, document, tool_use, tool_result, thinking or redacted_thinking',
});

const message = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(block)], { error: 'must be a string or an array of content blocks' }),
});

const tool = z.looseObject({
  type: z.string().nullable().optional(),
  name: z.string().min(1),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()).optional(),
  strict: z.boolean().optional(),
});

const parallel = { disable_parallel_tool_use: z.boolean().optional() };
const toolChoice = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ type: z.literal('auto'), ...parallel }),
    z.looseObject({ type: z.literal('any'), ...parallel }),
    z.looseObject({ type: z.literal('tool'), name: z.string(), ...parallel }),
    z.looseObject({ type: z.literal('none') }),
  ],
  { error: 'must be a tool choice of type auto, any, tool or none' },
);

export const anthropicRequestSchema = z.looseObject({
  model: z.string({ error: 'must be a string naming a model' }).min(1, 'must not be empty'),
  max_tokens: z.number().int().positive(),
  messages: z.array(message, { error: 'must be an array of messages' }).min(1, 'must contain at least one message'),
  system: z.union([z.string(), z.array(text)], { error: 'must be a string or an array of text blocks' }).optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().positive().optional(),
  stream: z.boolean().optional(),
  metadata: z.looseObject({ user_id: z.string().nullable().optional() }).optional(),
  tools: z.array(tool).optional(),
  tool_choice: toolChoice.optional(),
  output_config: z
    .looseObject({
      effort: z.string().nullable().optional(),
      format: z.looseObject({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).nullable().optional(),
    })
    .optional(),
});

export type AnthropicRequest = z.output<typeof anthropicRequestSchema>;
export type AnthropicBlock = z.output<typeof block>;
export type AnthropicImageBlock = z.output<typeof image>;

/**
 * A union (string or blocks) reports only that nothing matched; the branch that got furthest
 * names the actual problem, e.g. `messages[0].content[2]` rather than `messages[0].content`.
 */
function deepestIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  let best: z.core.$ZodIssue | null = null;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (first !== undefined && first.path.length > 0 && (best === null || first.path.length > best.path.length)) best = first;
  }
  return best === null ? issue : deepestIssue({ ...best, path: [...issue.path, ...best.path] });
}

/** Checks an Anthropic request body; throws SLUICE_ERR_INVALID_REQUEST naming the first bad field. */
export function parseAnthropicRequest(body: unknown): AnthropicRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'The request body must be a JSON object.' });
  }
  const result = anthropicRequestSchema.safeParse(body, { reportInput: true });
  if (!result.success) {
    const issue = deepestIssue(result.error.issues[0]!);
    const param = formatPath(issue.path);
    throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid request: ${param === '' ? 'body' : `"${param}"`} ${describeIssue(issue)}.`, param });
  }
  return result.data;
}
