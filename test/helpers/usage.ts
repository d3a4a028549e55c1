import { send } from './requests.js';
import type { Database } from '../../src/db/index.js';

/** What a load run saw answered: request ids and the token usage the answers reported. */
export interface Served {
  ids: string[];
  /** performance.now() when each answer (in `ids` order) was complete. */
  answeredAt: number[];
  /** Prompt and completion tokens each answer reported, by request id. */
  tokens: Map<string, { prompt: number; completion: number }>;
  prompt: number;
  completion: number;
  /** Requests that got no answer (connection refused or cut). */
  failed: number;
}

interface WireUsage {
  prompt_tokens: number;
  completion_tokens?: number;
}

/** The usage an answer reported: a JSON body's, or a stream's usage chunk. */
function usageIn(text: string, stream: boolean): WireUsage {
  if (!stream) return (JSON.parse(text) as { usage: WireUsage }).usage;
  for (const line of text.split('\n').reverse()) {
    if (!line.startsWith('data: {')) continue;
    const chunk = JSON.parse(line.slice(6)) as { usage?: WireUsage | null };
    if (chunk.usage != null) return chunk.usage;
  }
  throw new Error(`no usage in stream: ${text}`);
}

/**
 * Sends `n` requests, `concurrency` at a time, cycling through a chat answer, a chat stream
 * (with include_usage) and embeddings, and sums what was answered 200. With `until`, keeps
 * going until it resolves instead.
 */
export async function driveLoad(url: string, n: number, options: { concurrency?: number; headers?: Record<string, string>; model?: string; until?: Promise<unknown>; onAnswer?: (answered: number) => void } = {}): Promise<Served> {
  const served: Served = { ids: [], answeredAt: [], tokens: new Map(), prompt: 0, completion: 0, failed: 0 };
  let next = 0;
  let stop = false;
  void options.until?.then(() => (stop = true));
  const model = options.model ?? 'mock-1';
  const one = async (i: number): Promise<void> => {
    const kind = i % 3;
    const stream = kind === 1;
    const path = kind === 2 ? '/v1/embeddings' : '/v1/chat/completions';
    const body =
      kind === 2
        ? { model, input: `text number ${i}` }
        : { model, max_tokens: 5 + (i % 7), messages: [{ role: 'user', content: `question ${i}` }], ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}) };
    try {
      const res = await send(url, path, { method: 'POST', body, headers: options.headers });
      const text = res.text;
      if (res.status !== 200) throw new Error(`status ${res.status}: ${text}`);
      // A stream cut by a killed gateway ends without [DONE]: not answered.
      if (stream && !text.includes('data: [DONE]')) throw new Error('stream cut');
      const u = usageIn(text, stream);
      served.ids.push(String(res.headers['x-request-id']));
      served.answeredAt.push(performance.now());
      served.tokens.set(String(res.headers['x-request-id']), { prompt: u.prompt_tokens, completion: u.completion_tokens ?? 0 });
      served.prompt += u.prompt_tokens;
      served.completion += u.completion_tokens ?? 0;
      options.onAnswer?.(served.ids.length);
    } catch {
      served.failed++;
    }
  };
  const worker = async (): Promise<void> => {
    while (!stop && (options.until !== undefined || next < n)) await one(next++);
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return served;
}

export interface Stored {
  count: number;
  distinct: number;
  prompt: number;
  completion: number;
}

/** Totals of the stored usage records. */
export async function storedTotals(db: Pick<Database, 'query'>): Promise<Stored> {
  const [row] = await db.query<{ count: number; distinct: number; prompt: number; completion: number }>(
    'SELECT CAST(count(*) AS integer) AS count, CAST(count(DISTINCT request_id) AS integer) AS "distinct", CAST(coalesce(sum(prompt_tokens), 0) AS integer) AS prompt, CAST(coalesce(sum(completion_tokens), 0) AS integer) AS completion FROM usage_records',
  );
  return row!;
}

/** The stored request ids. */
export async function storedIds(db: Pick<Database, 'query'>): Promise<Set<string>> {
  return new Set((await db.query<{ request_id: string }>('SELECT request_id FROM usage_records')).map((r) => r.request_id));
}
