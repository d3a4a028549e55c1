/**
 * Messages between the cluster primary and its workers (`server.workers`), over the IPC
 * channel node:cluster opens with `serialization: 'advanced'` (structured clone: Infinity,
 * Buffers and nested objects arrive as sent). Every message carries `sluice`, so other
 * users of the channel (none today) cannot be mistaken for it.
 */

/** An error as plain fields (structured clone keeps only an Error's message), e.g. a database's SQLSTATE `code`. */
export interface WireError {
  readonly message: string;
  readonly fields: Record<string, string | number>;
}

/** Worker → primary: a call that expects a reply with the same id. */
export interface CallMessage {
  readonly sluice: 'call';
  readonly id: number;
  readonly op: string;
  readonly args: readonly unknown[];
}

/** Worker → primary: a call that expects no reply (flight events, releases). */
export interface NoteMessage {
  readonly sluice: 'note';
  readonly op: string;
  readonly args: readonly unknown[];
}

/** Primary → worker: the reply to a call, or worker → primary: the answer to an ask. */
export interface ReplyMessage {
  readonly sluice: 'reply' | 'answer';
  readonly id: number;
  readonly value?: unknown;
  readonly error?: WireError;
}

/** Primary → worker: a question the worker answers (its metrics). */
export interface AskMessage {
  readonly sluice: 'ask';
  readonly id: number;
  readonly op: 'metrics';
}

/** One event of a coalesced flight, as a leader publishes it (the same letters as the Redis flights). */
export type FlightEvent =
  | { readonly t: 's' }
  | { readonly t: 'c'; readonly d: string }
  | { readonly t: 'e'; readonly d?: string; readonly u?: string; readonly f?: string }
  | { readonly t: 'f' };

/** Primary → worker: an event of a flight the worker follows, or a reload to run. */
export type PushMessage = { readonly sluice: 'flight'; readonly fid: number; readonly event: FlightEvent } | { readonly sluice: 'reload'; readonly trigger: string };

export type ToPrimary = CallMessage | NoteMessage | ReplyMessage;
export type ToWorker = ReplyMessage | AskMessage | PushMessage;

/** Several messages in one: what one side queued during an event-loop turn, in order. */
export interface BatchMessage<T> {
  readonly sluice: 'batch';
  readonly messages: readonly T[];
}

/**
 * Queues messages and sends what one event-loop turn queued as one IPC message (after the
 * turn's I/O, in order): under load many requests' calls share one serialisation and one
 * write, instead of one each. `send` may throw once the channel is gone; the queue is dropped.
 */
export class Outbox<T> {
  readonly #send: (message: T | BatchMessage<T>) => void;
  #queue: T[] = [];

  constructor(send: (message: T | BatchMessage<T>) => void) {
    this.#send = send;
  }

  push(message: T): void {
    if (this.#queue.length === 0) setImmediate(this.#flush);
    this.#queue.push(message);
  }

  readonly #flush = (): void => {
    const queue = this.#queue;
    this.#queue = [];
    try {
      this.#send(queue.length === 1 ? queue[0]! : { sluice: 'batch', messages: queue });
    } catch {
      // The channel closed: its owner fails what waits on it.
    }
  };
}

/** The messages in `m`: a batch's, in order, or `m` itself. */
export function unbatch<T>(m: T | BatchMessage<T>): readonly T[] {
  return (m as { sluice?: unknown }).sluice === 'batch' ? (m as BatchMessage<T>).messages : [m as T];
}

export function isMessage<T extends { sluice: string }>(m: unknown): m is T {
  return typeof m === 'object' && m !== null && typeof (m as { sluice?: unknown }).sluice === 'string';
}

/** An error for the wire: its message and its string or number fields (`code` among them). */
export function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { message: String(err), fields: {} };
  const fields: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(err)) if (typeof v === 'string' || typeof v === 'number') fields[k] = v;
  return { message: err.message, fields };
}

export function fromWire(err: WireError): Error {
  return Object.assign(new Error(err.message), err.fields);
}
