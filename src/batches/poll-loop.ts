import type { Clock, TimerHandle } from '../lib/clock.js';

/**
 * The poll loop of the batch runners (runner.ts, provider-runner.ts): one round at a time, a
 * kick during a round runs another right after it, and the next round starts `intervalMs`
 * after the last one ended, until stopped. A round handles its own errors.
 */
export class PollLoop {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #round: () => Promise<void>;
  #timer: TimerHandle | null = null;
  #started = false;
  #ticking: Promise<void> | null = null;
  #again = false;

  constructor(clock: Clock, intervalMs: number, round: () => Promise<void>) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#round = round;
  }

  /** True from `start` until `stop`: a round checks it to stop taking work. */
  get started(): boolean {
    return this.#started;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.kick();
  }

  /** Schedules no more rounds; resolves when the round under way, if any, has ended. */
  stop(): Promise<void> {
    this.#started = false;
    this.#clearTimer();
    return this.#ticking ?? Promise.resolve();
  }

  /** Runs a round now rather than at the next poll (or right after the one under way). */
  kick(): void {
    if (!this.#started) return;
    if (this.#ticking !== null) {
      this.#again = true;
      return;
    }
    this.#ticking = this.#run().finally(() => {
      this.#ticking = null;
      if (this.#again) {
        this.#again = false;
        this.kick();
      }
    });
  }

  async #run(): Promise<void> {
    this.#clearTimer();
    await this.#round();
    if (this.#started) this.#timer = this.#clock.setTimer(() => this.kick(), this.#intervalMs);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }
}
