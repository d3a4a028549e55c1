import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI-shaped upstream for stream tests. Non-streamed chat requests get a small JSON
 * completion at once. Streamed ones, in `flood` mode, get ~1 KiB chunks as fast as the socket
 * takes them and never end (so a client that stops reading holds the connection until someone
 * cuts it); in `hold` mode, one chunk, then nothing until the connection closes.
 */
export class StreamingUpstream {
  mode: 'flood' | 'hold';
  /** Streams open now, and in all. */
  open = 0;
  opened = 0;
  jsonServed = 0;
  readonly #server: http.Server;
  #port = 0;

  constructor(mode: 'flood' | 'hold') {
    this.mode = mode;
    this.#server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => this.#answer(JSON.parse(Buffer.concat(parts).toString('utf8')) as { stream?: boolean }, res));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/v1`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const closed = new Promise((resolve) => this.#server.close(resolve));
    this.#server.closeAllConnections();
    await closed;
  }

  #answer(body: { stream?: boolean }, res: http.ServerResponse): void {
    if (body.stream !== true) {
      this.jsonServed++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
      return;
    }
    this.open++;
    this.opened++;
    let stopped = false;
    res.on('close', () => {
      stopped = true;
      this.open--;
    });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (this.mode === 'hold') {
      res.write(CHUNK);
      return;
    }
    const pump = (): void => {
      while (!stopped) {
        if (!res.write(CHUNK)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  }
}

const CHUNK = `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content: 'y'.repeat(1000) }, finish_reason: null }] })}\n\n`;

/** Polls `cond` until it holds; rejects after `ms`. Waits for the machine, not to make time pass. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
