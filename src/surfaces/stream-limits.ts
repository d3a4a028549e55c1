import { SluiceError } from '../errors.js';

export interface StreamLimits {
  /** Streamed answers open at once, in all. */
  readonly streams: number;
  /** … from one client address. */
  readonly streamsPerIp: number;
}

const RETRY_AFTER = { 'retry-after': '1' } as const;

/**
 * Counts the streamed answers open at once, in all and per client address, and refuses one
 * over either limit (issue 15). Each open stream holds a client socket, an upstream socket and
 * its buffers for as long as it runs, so without a cap a crowd of slow streams can take the
 * process's open files and the CPU other clients need.
 */
export class StreamSlots {
  readonly #limits: StreamLimits;
  readonly #byIp = new Map<string, number>();
  #open = 0;

  constructor(limits: StreamLimits) {
    if (!(limits.streams >= 1) || !(limits.streamsPerIp >= 1)) throw new Error('stream limits must be at least 1');
    this.#limits = limits;
  }

  /** Streams open now. */
  get open(): number {
    return this.#open;
  }

  /** Takes a slot for a stream from `ip`: null when taken, else the refusal to answer with. Give it back with `release`. */
  acquire(ip: string): SluiceError | null {
    const mine = this.#byIp.get(ip) ?? 0;
    // The client's own limit first: waiting for its own streams to end is what helps it.
    if (mine >= this.#limits.streamsPerIp) {
      return new SluiceError('SLUICE_ERR_TOO_MANY_STREAMS', { message: `This client address already has ${mine} streams open, the most the gateway allows one address.`, headers: RETRY_AFTER });
    }
    if (this.#open >= this.#limits.streams) return new SluiceError('SLUICE_ERR_STREAM_CAPACITY', { headers: RETRY_AFTER });
    this.#byIp.set(ip, mine + 1);
    this.#open++;
    return null;
  }

  release(ip: string): void {
    const mine = this.#byIp.get(ip);
    if (mine === undefined) return;
    if (mine <= 1) this.#byIp.delete(ip);
    else this.#byIp.set(ip, mine - 1);
    this.#open--;
  }
}
