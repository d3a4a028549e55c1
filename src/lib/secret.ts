import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A credential. It prints, serialises and inspects as `[redacted]`, so a secret reaches a
 * log only if code calls `reveal()` and logs the result — redaction by type, not by luck.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
