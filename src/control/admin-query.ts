import { z } from 'zod';
import { formatPath } from '../config/load.js';
import { SluiceError } from '../errors.js';
import { describeIssue } from '../lib/zod-issue.js';

/** A query string parsed by `schema`, or the catalog's 400 naming the parameter at fault. */
export function parseQuery<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value ?? {}, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = formatPath(issue.path);
  throw new SluiceError('SLUICE_ERR_INVALID_REQUEST', { message: `Invalid query: ${param === '' ? '' : `"${param}" `}${describeIssue(issue)}.`, ...(param === '' ? {} : { param }) });
}
