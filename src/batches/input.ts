/**
 * The batch input file (issue 21): JSONL, one request per line, `{custom_id, method, url,
 * body}`, checked line by line as OpenAI does. A file with any bad line makes its batch fail
 * at creation with `errors.data[{code, message, line, param}]` (1-based line numbers); nothing
 * of it runs.
 */
import { isRecord } from '../lib/json.js';

/** The endpoints a batch may name, each served by the model endpoint of the same path. */
export const BATCH_ENDPOINTS: ReadonlySet<string> = new Set(['/v1/chat/completions', '/v1/embeddings', '/v1/responses', '/v1/completions', '/v1/messages']);

/** The most lines one batch may hold, as OpenAI's limit. */
export const MAX_LINES = 50_000;

export interface InputLine {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly customId: string;
  /** The request body, as JSON text. */
  readonly body: string;
}

/** One entry of a failed batch's `errors.data`. */
export interface LineError {
  /** INPUT_INVALID: a bad line (the batch failed); PASSTHROUGH_REFUSED: the provider's batch API refused it and it ran line by line (issue 21). */
  readonly code: 'SLUICE_ERR_BATCH_INPUT_INVALID' | 'SLUICE_ERR_BATCH_PASSTHROUGH_REFUSED';
  readonly message: string;
  readonly param: string | null;
  readonly line: number | null;
}

/** At most this many errors are reported; the rest of a bad file is not listed. */
const MAX_ERRORS = 100;

function lineError(line: number | null, param: string | null, message: string): LineError {
  return { code: 'SLUICE_ERR_BATCH_INPUT_INVALID', message, param, line };
}

/** The request lines of a batch input file for `endpoint`, or the errors that make the batch fail. */
export function parseInput(content: Buffer, endpoint: string): { lines: InputLine[]; errors: LineError[] } {
  const text = content.toString('utf8');
  const lines: InputLine[] = [];
  const errors: LineError[] = [];
  const seen = new Set<string>();
  const raw = text.split('\n');
  for (let i = 0; i < raw.length && errors.length < MAX_ERRORS; i++) {
    const source = raw[i]!.trim();
    if (source === '') continue;
    const n = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch {
      errors.push(lineError(n, null, `Line ${n} is not valid JSON.`));
      continue;
    }
    if (!isRecord(value)) {
      errors.push(lineError(n, null, `Line ${n} is not a JSON object.`));
      continue;
    }
    const { custom_id: customId, method, url, body } = value;
    if (typeof customId !== 'string' || customId === '') {
      errors.push(lineError(n, 'custom_id', `Line ${n}: "custom_id" must be a non-empty string.`));
      continue;
    }
    if (seen.has(customId)) {
      errors.push(lineError(n, 'custom_id', `Line ${n}: the custom_id ${JSON.stringify(customId)} is used by an earlier line; each must be unique.`));
      continue;
    }
    seen.add(customId);
    if (method !== 'POST') {
      errors.push(lineError(n, 'method', `Line ${n}: "method" must be "POST".`));
      continue;
    }
    if (url !== endpoint) {
      errors.push(lineError(n, 'url', `Line ${n}: "url" must be the batch's endpoint ${JSON.stringify(endpoint)}.`));
      continue;
    }
    if (!isRecord(body)) {
      errors.push(lineError(n, 'body', `Line ${n}: "body" must be a JSON object.`));
      continue;
    }
    lines.push({ line: n, customId, body: JSON.stringify(body) });
  }
  if (errors.length === 0 && lines.length === 0) errors.push(lineError(null, null, 'The input file has no request lines.'));
  if (errors.length === 0 && lines.length > MAX_LINES) errors.push(lineError(null, null, `The input file has ${lines.length} request lines; a batch holds at most ${MAX_LINES}.`));
  return { lines, errors };
}
