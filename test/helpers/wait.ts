import type { IncomingMessage, ServerResponse } from 'node:http';
import { Backend } from './backends.js';

/**
 * Waits until `check` holds, polling on the event loop. Tests wait for a state they can
 * observe (a request seen, a queue depth) instead of sleeping for a guessed time, so a busy
 * machine makes them slower, never wrong. Fails with `what` after `timeoutMs`.
 */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The value of one sample in a Prometheus text exposition, or null when absent. */
export function metricValue(text: string, name: string, labels: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * An OpenAI-shaped upstream that holds every chat completion until the test releases it, so
 * "the first request holds the only slot" is a fact the test waits for, not a sleep.
 */
export class HeldUpstream extends Backend {
  readonly #held: ServerResponse[] = [];
  #releaseAll = false;

  constructor() {
    super('held', (_req: IncomingMessage, res: ServerResponse) => {
      if (this.#releaseAll) answer(res);
      else this.#held.push(res);
    });
  }

  /** Requests waiting for `release`. */
  get held(): number {
    return this.#held.length;
  }

  /** Answers the oldest held request. */
  release(): void {
    const res = this.#held.shift();
    if (res !== undefined) answer(res);
  }

  /** Answers everything held and every later request at once. */
  releaseAll(): void {
    this.#releaseAll = true;
    while (this.#held.length > 0) this.release();
  }
}

function answer(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      id: 'chatcmpl-held',
      object: 'chat.completion',
      created: 1,
      model: 'held',
      choices: [{ index: 0, message: { role: 'assistant', content: 'released' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    }),
  );
}

/**
 * Waits until every line logged so far has reached `lines`: logs a marker and waits for it
 * (the logger's stream keeps order), instead of sleeping for a guessed flush time.
 */
export async function flushLogs(logger: { info(obj: object, msg: string): void }, lines: () => readonly string[]): Promise<void> {
  const marker = `flush-${Math.random().toString(36).slice(2)}`;
  logger.info({}, marker);
  await waitFor(() => lines().some((l) => l.includes(marker)), 'the log to flush');
}
