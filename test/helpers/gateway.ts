import { Writable } from 'node:stream';
import { compileConfig, type RuntimeConfig } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { Gateway } from '../../src/gateway/gateway.js';
import type { Clock } from '../../src/lib/clock.js';
import { mulberry32 } from '../../src/lib/random.js';

export interface TestGateway {
  gateway: Gateway;
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  /** Every log line written so far, raw JSON text. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * Starts a gateway on 127.0.0.1, port 0 (or `options.port`: a test that must name the URL in advance, as an OIDC redirect), from a config object; logs are captured, not printed.
 * Usage accounting (on by default, with an embedded database and a spool folder) is off
 * unless the config has a `usage` section: most tests are not about it.
 */
export async function startGateway(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, options: { clock?: Clock; random?: () => number; load?: () => RuntimeConfig; port?: number } = {}): Promise<TestGateway> {
  const { port = 0, ...gatewayOptions } = options;
  const config = compileConfig(validateConfig({ usage: { enabled: false }, ...raw, server: { ...(raw.server as object | undefined), port } }, 'test', env), 'test');
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  const gateway = await Gateway.create(config, { logger: createLogger(config.logging.level, sink, config.redactor), ...gatewayOptions });
  const { url } = await gateway.listen();
  return {
    gateway,
    url,
    logs,
    close: async () => {
      await gateway.shutdown(1000);
    },
  };
}

/** Reads an SSE body into its events (event name or null, data text). */
export function parseSseText(text: string): { event: string | null; data: string }[] {
  const out: { event: string | null; data: string }[] = [];
  for (const block of text.split('\n\n')) {
    if (block.trim() === '') continue;
    let event: string | null = null;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    out.push({ event, data: data.join('\n') });
  }
  return out;
}

/** The text a chat stream's deltas carry, from its SSE body. */
export function streamText(sse: string): string {
  let out = '';
  for (const e of parseSseText(sse)) {
    if (e.data === '[DONE]' || e.event !== null) continue;
    for (const c of (JSON.parse(e.data) as { choices: { delta?: { content?: string } }[] }).choices) out += c.delta?.content ?? '';
  }
  return out;
}

/** A deterministic PRNG for tests that balance or jitter. */
export const seededRandom = mulberry32;
