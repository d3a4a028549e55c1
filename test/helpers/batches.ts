import type { IncomingMessage, ServerResponse } from 'node:http';
import { Backend } from './backends.js';

/**
 * An OpenAI-shaped upstream for batch tests (issue 21): answers every chat completion with
 * "echo: <last message>" and counts how many times it was sent each message text, so a test
 * can say that no batch line reached it twice. `hold` keeps answers back until released.
 */
export class CountingUpstream extends Backend {
  readonly counts = new Map<string, number>();
  #held: (() => void)[] = [];
  hold = false;

  constructor() {
    super('counting', (req, res, body) => this.#answer(req, res, body));
  }

  /** Requests answered or held, in all. */
  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** Message texts sent more than once. */
  twice(): string[] {
    return [...this.counts].filter(([, n]) => n > 1).map(([k]) => k);
  }

  /** Answers held back now. */
  get held(): number {
    return this.#held.length;
  }

  /** The message texts of the answers held back, oldest first. */
  heldTexts: string[] = [];

  /** Sends the oldest answer held back (hold stays on). */
  releaseOne(): void {
    this.heldTexts.shift();
    this.#held.shift()?.();
  }

  release(): void {
    this.heldTexts = [];
    this.hold = false;
    for (const go of this.#held.splice(0)) go();
  }

  #answer(_req: IncomingMessage, res: ServerResponse, body: string): void {
    const parsed = JSON.parse(body) as { model: string; messages: { content: string }[] };
    const text = parsed.messages.at(-1)?.content ?? '';
    this.counts.set(text, (this.counts.get(text) ?? 0) + 1);
    const send = (): void => {
      const answer = {
        id: `chatcmpl-${this.total}`,
        object: 'chat.completion',
        created: 1_700_000_000,
        model: parsed.model,
        choices: [{ index: 0, message: { role: 'assistant', content: `echo: ${text}` }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    };
    if (this.hold) {
      this.#held.push(send);
      this.heldTexts.push(text);
    }
    else send();
  }
}

/** A JSONL batch input of chat completions: line i asks `model(i)` to echo `line-<i>`. */
export function chatLines(count: number, model: (i: number) => string = () => 'gpt-test'): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(JSON.stringify({ custom_id: `req-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: model(i), messages: [{ role: 'user', content: `line-${i}` }] } }));
  }
  return `${lines.join('\n')}\n`;
}

/** An output or error file's lines, parsed. */
export interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}

export function outputLines(text: string): OutputLine[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as OutputLine);
}
