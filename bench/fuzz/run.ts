import { Agent, request, type Dispatcher } from 'undici';
import type { FuzzCase, FuzzInputs } from './inputs.js';

export interface FuzzFailure {
  readonly index: number;
  readonly case: FuzzCase;
  /** The status, or null when the request stalled past the timeout. */
  readonly status: number | null;
  readonly answer: string;
}

export interface FuzzReport {
  /** Cases generated. */
  tried: number;
  /** Cases the HTTP client refused to send (a header value it will not write, etc.). */
  unsendable: number;
  /** Answers by status class, e.g. { '2xx': 10, '4xx': 90 }. */
  byClass: Record<string, number>;
  /** 5xx answers, stalls and dropped connections (the first 20 of each kept). */
  failures: FuzzFailure[];
  fiveXX: number;
  stalls: number;
  /** Connections the gateway closed without an answer. */
  dropped: number;
}

export interface FuzzOptions {
  /** Stop when this returns true (checked before each case). */
  readonly done: (tried: number) => boolean;
  readonly concurrency: number;
  /** A request without its answer after this long is a stall. */
  readonly stallMs: number;
}

/** Runs cases against a gateway until `done`, counting what came back. */
export async function runFuzz(url: string, inputs: FuzzInputs, options: FuzzOptions): Promise<FuzzReport> {
  const report: FuzzReport = { tried: 0, unsendable: 0, byClass: {}, failures: [], fiveXX: 0, stalls: 0, dropped: 0 };
  const dispatcher = new Agent({ headersTimeout: options.stallMs, bodyTimeout: options.stallMs, connections: options.concurrency });
  const fail = (f: FuzzFailure): void => {
    if (report.failures.length < 20) report.failures.push(f);
  };
  const worker = async (): Promise<void> => {
    while (!options.done(report.tried)) {
      const index = report.tried++;
      const c = inputs.next();
      try {
        const res = await send(url, c, dispatcher, options.stallMs);
        const cls = `${Math.floor(res.status / 100)}xx`;
        report.byClass[cls] = (report.byClass[cls] ?? 0) + 1;
        if (res.status >= 500) {
          report.fiveXX++;
          fail({ index, case: c, status: res.status, answer: res.text.slice(0, 500) });
        }
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
          report.stalls++;
          fail({ index, case: c, status: null, answer: code });
        } else if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'ECONNREFUSED') {
          report.dropped++;
          fail({ index, case: c, status: null, answer: code });
        } else report.unsendable++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    await dispatcher.close();
  }
  return report;
}

/**
 * Sends a case. A reset on a reused keep-alive connection can be the previous case's doing (a
 * server closes a connection whose last body it did not read): such a case is sent once more
 * on a connection of its own, and only a second reset counts as dropped.
 */
async function send(url: string, c: FuzzCase, dispatcher: Dispatcher, stallMs: number): Promise<{ status: number; text: string }> {
  const once = async (d: Dispatcher): Promise<{ status: number; text: string }> => {
    const res = await request(url + c.path, { method: c.method, headers: c.headers, body: c.body, dispatcher: d });
    return { status: res.statusCode, text: await res.body.text() };
  };
  try {
    return await once(dispatcher);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET') throw err;
    const fresh = new Agent({ headersTimeout: stallMs, bodyTimeout: stallMs });
    try {
      return await once(fresh);
    } finally {
      await fresh.close();
    }
  }
}

/** A case as one line of text, to reproduce it by hand. */
export function describeCase(f: FuzzFailure): string {
  const body = f.case.body === null ? '' : ` body=${JSON.stringify(f.case.body.length > 300 ? `${f.case.body.slice(0, 300)}…(${f.case.body.length} chars)` : f.case.body)}`;
  const path = f.case.path.length > 200 ? `${f.case.path.slice(0, 200)}…(${f.case.path.length} chars)` : f.case.path;
  return `#${f.index} ${f.case.method} ${path} headers=${JSON.stringify(f.case.headers)}${body} → ${f.status ?? 'no answer'} ${f.answer}`;
}
