import { fromWire, isMessage, Outbox, toWire, unbatch, type AskMessage, type FlightEvent, type ToPrimary, type ToWorker } from './protocol.js';

/** What a worker answers when the primary asks (its own metrics, for the aggregated /metrics). */
export interface WorkerAnswers {
  metrics(): Promise<unknown>;
}

/**
 * A worker's end of the IPC channel to the cluster primary (`server.workers`): calls with
 * replies, notes without, the primary's questions, and the events of flights this worker
 * follows. Calls fail at once when the channel is gone (the primary died: the worker is
 * about to exit anyway).
 */
export class PrimaryChannel {
  readonly #outbox: Outbox<ToPrimary>;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #followers = new Map<number, (event: FlightEvent) => void>();
  #nextId = 1;
  #nextFollower = 1;
  #answers: WorkerAnswers | null = null;
  #onReload: ((trigger: string) => void) | null = null;
  #closed: Error | null = null;

  /** `proc` is the worker's `process` (its `send` and `message` events). */
  constructor(proc: NodeJS.Process) {
    const send = proc.send?.bind(proc);
    if (send === undefined) throw new Error('PrimaryChannel needs a process with an IPC channel (a cluster worker)');
    this.#outbox = new Outbox<ToPrimary>((message) => send(message));
    proc.on('message', (m: unknown) => {
      if (!isMessage<ToWorker>(m)) return;
      for (const one of unbatch(m)) this.#receive(one);
    });
    proc.on('disconnect', () => this.#close(new Error('the cluster primary is gone')));
  }

  /** Calls `op` on the primary; resolves with its value or rejects with its error. */
  call<T>(op: string, ...args: unknown[]): Promise<T> {
    if (this.#closed !== null) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#outbox.push({ sluice: 'call', id, op, args });
    });
  }

  /** Sends `op` without waiting; delivered in order with the calls. */
  note(op: string, ...args: unknown[]): void {
    if (this.#closed !== null) return;
    this.#outbox.push({ sluice: 'note', op, args });
  }

  /** Registers a follower's event handler; the id goes in the claim. */
  follow(handler: (event: FlightEvent) => void): number {
    const fid = this.#nextFollower++;
    this.#followers.set(fid, handler);
    return fid;
  }

  unfollow(fid: number): void {
    this.#followers.delete(fid);
  }

  answer(answers: WorkerAnswers): void {
    this.#answers = answers;
  }

  onReload(fn: (trigger: string) => void): void {
    this.#onReload = fn;
  }

  #receive(m: ToWorker): void {
    if (m.sluice === 'reply') {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      if (m.error === undefined) p.resolve(m.value);
      else p.reject(fromWire(m.error));
    } else if (m.sluice === 'flight') {
      this.#followers.get(m.fid)?.(m.event);
    } else if (m.sluice === 'ask') {
      void this.#ask(m);
    } else if (m.sluice === 'reload') {
      this.#onReload?.(m.trigger);
    }
  }

  async #ask(m: AskMessage): Promise<void> {
    try {
      if (this.#answers === null) throw new Error('this worker answers no questions yet');
      const value = await this.#answers.metrics();
      this.#outbox.push({ sluice: 'answer', id: m.id, value });
    } catch (err) {
      this.#outbox.push({ sluice: 'answer', id: m.id, error: toWire(err) });
    }
  }

  #close(err: Error): void {
    this.#closed ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    // Followers see the leader's failure, then go upstream themselves.
    for (const handler of this.#followers.values()) handler({ t: 'f' });
    this.#followers.clear();
  }
}
