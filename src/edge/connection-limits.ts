import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { SluiceError, type ErrorCode } from '../errors.js';
import { writeErrorBody } from '../surfaces/respond.js';
import { requestId } from './request-id.js';

export interface ConnectionLimits {
  /** Client connections open at once, in all. */
  readonly connections: number;
  /** … from one peer address. */
  readonly connectionsPerIp: number;
}

/** How long a refused connection may take to send the request its refusal answers. */
export const REFUSAL_WAIT_MS = 5_000;
/** Refused connections waiting for their request at once; past this a refused connection is closed unanswered. */
export const MAX_PENDING_REFUSALS = 1_000;

const RETRY_AFTER = { 'retry-after': '1' } as const;
const kAddress = Symbol('sluice.peerAddress');
type CountedSocket = Socket & { [kAddress]?: string };

/**
 * Client connection limits, in all and per peer address (issue 15). node:http's own
 * `server.maxConnections` closes a connection over the limit at once, which a client sees as
 * a reset with no reason. Here such a connection is kept just long enough to read its first
 * request, which is answered with a coded error (503 SLUICE_ERR_TOO_MANY_CONNECTIONS or 429
 * SLUICE_ERR_CLIENT_CONNECTION_LIMIT), `Retry-After: 1` and `Connection: close`. So that the
 * refusals cannot themselves exhaust the open files, a refused connection gets REFUSAL_WAIT_MS
 * to send that request, and only MAX_PENDING_REFUSALS wait at once; others are closed at once.
 * The address is the socket's peer: behind a proxy that is the proxy's.
 */
export class ConnectionGate {
  readonly #limits: ConnectionLimits;
  readonly #byIp = new Map<string, number>();
  readonly #refused = new WeakMap<Socket, SluiceError>();
  #open = 0;
  #pendingRefusals = 0;

  readonly #onRefuse: (code: ErrorCode) => void;

  /** `onRefuse` hears of every refused connection (metrics): they never become requests. */
  constructor(limits: ConnectionLimits, onRefuse: (code: ErrorCode) => void = () => {}) {
    if (!(limits.connections >= 1) || !(limits.connectionsPerIp >= 1)) throw new Error('connection limits must be at least 1');
    this.#limits = limits;
    this.#onRefuse = onRefuse;
    this.onConnection = this.onConnection.bind(this);
  }

  /** Client connections open now, refused ones included (they hold a file too). */
  get open(): number {
    return this.#open;
  }

  attach(server: Server): void {
    server.on('connection', this.onConnection);
  }

  /** The server's `connection` listener: counts the socket, and marks it refused when over a limit. */
  onConnection(socket: Socket): void {
    const ip = socket.remoteAddress ?? '';
    const mine = (this.#byIp.get(ip) ?? 0) + 1;
    this.#byIp.set(ip, mine);
    this.#open++;
    (socket as CountedSocket)[kAddress] = ip;
    // One closure per connection, not per request: keep-alive connections carry many.
    socket.once('close', () => this.#release(socket));
    let refusal: SluiceError | null = null;
    if (mine > this.#limits.connectionsPerIp) {
      refusal = new SluiceError('SLUICE_ERR_CLIENT_CONNECTION_LIMIT', { message: `This client address already has ${mine - 1} connections open, the most the gateway allows one address.`, headers: RETRY_AFTER });
    } else if (this.#open > this.#limits.connections) {
      refusal = new SluiceError('SLUICE_ERR_TOO_MANY_CONNECTIONS', { headers: RETRY_AFTER });
    }
    if (refusal === null) return;
    this.#onRefuse(refusal.code);
    if (this.#pendingRefusals >= MAX_PENDING_REFUSALS) {
      socket.destroy();
      return;
    }
    this.#pendingRefusals++;
    this.#refused.set(socket, refusal);
    socket.setTimeout(REFUSAL_WAIT_MS, () => socket.destroy());
  }

  /** Answers a request on a refused connection with its refusal (then the connection closes); false for any other. */
  refuse(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.#pendingRefusals === 0) return false;
    const refusal = this.#refused.get(req.socket);
    if (refusal === undefined) return false;
    const id = requestId(req);
    writeErrorBody(res, refusal, refusal.toBody(), id, { connection: 'close' }, null);
    return true;
  }

  /** The refusal for an upgrade request's socket, if it is a refused one. */
  refusalFor(socket: Socket): SluiceError | null {
    return this.#pendingRefusals === 0 ? null : (this.#refused.get(socket) ?? null);
  }

  #release(socket: CountedSocket): void {
    const ip = socket[kAddress];
    if (ip === undefined) return;
    socket[kAddress] = undefined;
    const mine = this.#byIp.get(ip) ?? 1;
    if (mine <= 1) this.#byIp.delete(ip);
    else this.#byIp.set(ip, mine - 1);
    this.#open--;
    if (this.#refused.delete(socket)) this.#pendingRefusals--;
  }
}
