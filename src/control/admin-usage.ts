import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Reader } from '../db/replicas.js';
import { SluiceError } from '../errors.js';
import { describeIssue } from '../lib/zod-issue.js';
import { formatPath } from '../config/load.js';
import { DIMENSIONS, decodeCursor, listUsage, summarizeUsage, type Dimension, type SummaryRow, type UsageFilter } from '../accounting/queries.js';

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
  format: z.enum(['json', 'csv']).optional(),
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

/** The summary's columns, in a fixed order: the group's, then the totals. */
const TOTALS = ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cached_prompt_tokens', 'cache_write_tokens', 'cache_write_1h_tokens', 'reasoning_tokens', 'estimated', 'cost_usd', 'cache_hits', 'avg_latency_ms'];

/**
 * RFC 4180 text: a header row, then one row per group, CRLF line ends. A text cell that a
 * spreadsheet would run as a formula (= + - @ first) gets a leading apostrophe (OWASP "CSV
 * injection"); numbers are written as they are.
 */
export function usageCsv(keys: readonly string[], rows: readonly SummaryRow[]): string {
  const columns = [...keys, ...TOTALS];
  const cell = (v: string | number | null | undefined): string => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') return String(v);
    const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}

/**
 * The usage API, inside the admin scope (admin token required): `GET /usage` totals grouped
 * by dimensions and time buckets (as CSV with `format=csv`), `GET /usage/requests` the request log, paginated by cursor.
 * Reads go to the read replicas when configured (ReadRouter).
 */
export function registerUsageApi(admin: FastifyInstance, reader: Reader): void {
  admin.get('/usage', async (request, reply) => {
    const q = parse(summaryQuery, request.query);
    const groupBy = q.group_by ?? [];
    const bucket = q.bucket ?? null;
    const data = await read(() => summarizeUsage(reader, groupBy, bucket, filterOf(q)));
    if (q.format === 'csv') {
      reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="sluice-usage.csv"');
      return usageCsv([...(bucket === null ? [] : ['bucket']), ...groupBy], data);
    }
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
