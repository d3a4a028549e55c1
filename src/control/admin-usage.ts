import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Reader } from '../db/replicas.js';
import { SluiceError } from '../errors.js';
import { describeIssue } from '../lib/zod-issue.js';
import { formatPath } from '../config/load.js';
import { DIMENSIONS, decodeCursor, listUsage, summarizeUsage, type Dimension, type UsageFilter } from '../accounting/queries.js';

const dimensionNames = Object.keys(DIMENSIONS) as Dimension[];
const instant = z.iso.datetime({ offset: true });

/** Time range and exact-match filters, shared by both endpoints. */
const filterFields = {
  from: instant.optional(),
  to: instant.optional(),
  key: z.string().min(1).optional(),
  user: z.string().min(1).optional(),
  tier: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  provider: z.string().min(1).optional(),
  route: z.string().min(1).optional(),
};

const summaryQuery = z.strictObject({
  ...filterFields,
  group_by: z
    .string()
    .transform((s) => s.split(',').map((d) => d.trim()).filter((d) => d !== ''))
    .pipe(z.array(z.enum(dimensionNames)))
    .optional(),
  bucket: z.enum(['minute', 'hour', 'day']).optional(),
});

const requestsQuery = z.strictObject({
  ...filterFields,
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().min(1).optional(),
});

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value ?? {}, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = formatPath(issue.path);
  throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid query: "${param}" ${describeIssue(issue)}.`, param });
}

function filterOf(q: z.output<typeof summaryQuery> | z.output<typeof requestsQuery>): UsageFilter {
  const where: Partial<Record<Dimension, string>> = {};
  for (const d of dimensionNames) if (q[d] !== undefined) where[d] = q[d];
  return { from: q.from === undefined ? null : new Date(q.from), to: q.to === undefined ? null : new Date(q.to), where };
}

/** A read that failed everywhere (replicas and primary) is the database's fault, not the client's. */
async function read<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new SluiceError('SLUICE_ERR_DATABASE_UNAVAILABLE', { message: `The usage records cannot be read: ${err instanceof Error ? err.message : String(err)}.` });
  }
}

/**
 * The usage API, inside the admin scope (admin token required): `GET /usage` totals grouped
 * by dimensions and time buckets, `GET /usage/requests` the request log, paginated by cursor.
 * Reads go to the read replicas when configured (ReadRouter).
 */
export function registerUsageApi(admin: FastifyInstance, reader: Reader): void {
  admin.get('/usage', async (request) => {
    const q = parse(summaryQuery, request.query);
    const groupBy = q.group_by ?? [];
    const bucket = q.bucket ?? null;
    const data = await read(() => summarizeUsage(reader, groupBy, bucket, filterOf(q)));
    return { object: 'list', group_by: groupBy, bucket, from: q.from ?? null, to: q.to ?? null, data };
  });

  admin.get('/usage/requests', async (request) => {
    const q = parse(requestsQuery, request.query);
    const after = q.cursor === undefined ? null : decodeCursor(q.cursor);
    if (q.cursor !== undefined && after === null) throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: 'Invalid query: "cursor" is not a cursor this API returned.', param: 'cursor' });
    const page = await read(() => listUsage(reader, filterOf(q), q.limit, after));
    return { object: 'list', data: page.data, next_cursor: page.nextCursor };
  });
}
