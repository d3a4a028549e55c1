import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export type BackendHandler = (req: IncomingMessage, res: ServerResponse, body: string, backend: Backend) => void;

/**
 * A small API instance for HTTP-service tests: answers JSON naming itself and echoing what it
 * saw, unless the test gives it a handler. It can be stopped and started again on the same
 * port (an instance that dies and comes back).
 */
export class Backend {
  readonly name: string;
  readonly seen: SeenRequest[] = [];
  handler: BackendHandler;
  port = 0;
  readonly #server: http.Server;

  constructor(name: string, handler?: BackendHandler) {
    this.name = name;
    this.handler = handler ?? echoHandler;
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        this.handler(req, res, body, this);
      });
    });
  }

  get server(): http.Server {
    return this.#server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests seen, not counting health checks. */
  get hits(): number {
    return this.seen.filter((r) => r.url !== '/health').length;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and cuts every open connection, as a crashed instance does. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}

/** The default answer: JSON naming the backend and echoing the request. */
export function echoHandler(req: IncomingMessage, res: ServerResponse, body: string, backend: Backend): void {
  const text = JSON.stringify({ name: backend.name, method: req.method, url: req.url, headers: req.headers, body });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(text);
}

export async function startBackends(...names: string[]): Promise<Backend[]> {
  return Promise.all(names.map((n) => new Backend(n).start()));
}

/** A TCP port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const b = await new Backend('dead').start();
  await b.stop();
  return b.port;
}
