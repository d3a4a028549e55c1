/**
 * The target URL: parsing, and the loopback guard. A load generator pointed at someone else's
 * server by mistake is an attack, so anything but loopback is refused unless the user says
 * --allow-remote, and the check happens before any socket or DNS lookup.
 */
import { BlockList, isIP } from 'node:net';
import { BenchUsageError } from './usage-error.js';

export type Endpoint = 'chat' | 'completions' | 'embeddings';

const ENDPOINT_PATHS: Record<Endpoint, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

export interface Target {
  /** http://host:port, what the connection pool dials. */
  origin: string;
  /** The request path, e.g. /v1/chat/completions. */
  path: string;
  /** Hostname without IPv6 brackets. */
  host: string;
  /** Whether the host is a loopback address (or "localhost"). */
  loopback: boolean;
  /** The host when it is an IPv4 address in 127.0.0.0/8 (source addresses can be spread). */
  ipv4Loopback: boolean;
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x (::ffff:127.0.0.1). Names are not
 * resolved: only "localhost" counts, since it never leaves the host by definition (RFC 6761).
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const lower = h.toLowerCase();
  if (lower === 'localhost' || lower.endsWith('.localhost')) return true;
  const family = isIP(h);
  if (family === 4) return loopback.check(h, 'ipv4');
  if (family === 6) return loopback.check(h, 'ipv6');
  return false;
}

/**
 * Parses the base URL (as an OpenAI client's baseURL, e.g. http://127.0.0.1:8787/v1) and the
 * endpoint into a target. Throws BenchUsageError for a bad URL or, without allowRemote, a
 * host that is not loopback.
 */
export function resolveTarget(baseUrl: string, endpoint: Endpoint, allowRemote: boolean): Target {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new BenchUsageError(`not a URL: ${JSON.stringify(baseUrl)} (expected e.g. http://127.0.0.1:8787/v1)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BenchUsageError(`unsupported scheme ${url.protocol} (http or https)`);
  if (url.search !== '' || url.hash !== '') throw new BenchUsageError('the base URL must not carry a query or fragment');
  // WHATWG URL parsing has already normalised the host (0x7f.1 → 127.0.0.1, [::0:1] → [::1]).
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const isLoop = isLoopbackHost(host);
  if (!isLoop && !allowRemote) {
    throw new BenchUsageError(`refusing to load ${url.host}: it is not a loopback address (127.0.0.0/8, ::1, localhost). Pass --allow-remote if you own that server and mean it.`);
  }
  const basePath = url.pathname.replace(/\/+$/, '');
  return {
    origin: url.origin,
    path: basePath + ENDPOINT_PATHS[endpoint],
    host,
    loopback: isLoop,
    ipv4Loopback: isIP(host) === 4 && isLoop,
  };
}

/** 127.0.0.1 … 127.0.0.n: the source addresses used to spread connections over more ports. */
export function sourceAddresses(n: number): string[] {
  if (!Number.isInteger(n) || n < 1 || n > 254) throw new BenchUsageError('--source-addresses: expected 1 to 254');
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
}
