/**
 * Config fields every HTTP provider type shares (base URL, key, headers, pool size, timeouts),
 * with the same defaults and messages as the `openai` type in src/config/schema.ts.
 */
import { z } from 'zod';
import { duration, numeric } from '../../config/fields.js';
import { Secret } from '../../lib/secret.js';
import type { CallTimeouts } from '../types.js';

export { numeric };

export const providerTimeoutsSchema = z.strictObject({
  connect: duration.default(10_000),
  firstByte: duration.default(300_000),
  idle: duration.default(60_000),
});

export function baseUrlSchema(example: string) {
  return z.url({ protocol: /^https?$/, error: `must be an http(s) URL such as ${example}` });
}

/** The shared fields; spread into a provider type's strictObject. */
export const httpProviderFields = {
  // One key, or a pool of keys requests spread over (issue 21, providers/keys/pool.ts).
  apiKey: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1, 'must list at least one key')])
    .refine((k) => typeof k === 'string' || new Set(k).size === k.length, 'lists the same key twice')
    .optional(),
  headers: z.record(z.string(), z.string()).default({}),
  connections: numeric(z.number().int().min(1).max(4096)).default(128),
  // Streams hold a connection for their whole answer, so they get a pool of their own (issue 15).
  streamConnections: numeric(z.number().int().min(1).max(16384)).default(4_000),
  timeouts: providerTimeoutsSchema.prefault({}),
};

/** The compiled form of the shared fields. */
export interface HttpProviderRuntime {
  readonly name: string;
  /** Scheme, host and port: the key of the upstream connection pool. */
  readonly origin: string;
  /** Path prefix of the API, without a trailing slash (e.g. "/v1"). */
  readonly basePath: string;
  /** The first (or only) API key; null when none is configured. */
  readonly apiKey: Secret | null;
  /** Every API key, in config order: the provider's key pool (empty when none). */
  readonly apiKeys: readonly Secret[];
  readonly headers: Readonly<Record<string, string>>;
  readonly connections: number;
  /** Size of the origin's separate pool for streamed calls. */
  readonly streamConnections: number;
  readonly timeouts: CallTimeouts;
}

export interface HttpProviderConfig {
  baseUrl: string;
  apiKey?: string | string[] | undefined;
  headers: Record<string, string>;
  connections: number;
  streamConnections: number;
  timeouts: { connect: number; firstByte: number; idle: number };
}

export function compileHttpProvider(name: string, p: HttpProviderConfig): HttpProviderRuntime {
  const url = new URL(p.baseUrl);
  const apiKeys = p.apiKey === undefined ? [] : (typeof p.apiKey === 'string' ? [p.apiKey] : p.apiKey).map((k) => new Secret(k));
  return {
    name,
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    apiKey: apiKeys[0] ?? null,
    apiKeys,
    headers: p.headers,
    connections: p.connections,
    streamConnections: p.streamConnections,
    timeouts: { connectMs: p.timeouts.connect, firstByteMs: p.timeouts.firstByte, idleMs: p.timeouts.idle },
  };
}
