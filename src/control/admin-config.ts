import type { FastifyInstance } from 'fastify';
import type { RuntimeConfig } from '../config/compile.js';
import { Secret } from '../lib/secret.js';
import { REDACTED, type Redactor } from '../lib/redactor.js';
import type { AdminSources } from './admin-sources.js';

/** Fields whose every value is a credential or a digest of one, wherever they sit. */
const SECRET_FIELDS = new Set(['hash', 'apiKey', 'apiKeys', 'secret', 'token', 'password', 'sentinelPassword', 'clientSecret']);
/** Fields whose values (a record of header values) are credentials: provider and tracing headers. */
const SECRET_RECORDS = new Set(['headers']);

/**
 * The running config as JSON with every secret masked: Secret values, digests, header values
 * and URL passwords become "[redacted]", and every other string passes the config's Redactor
 * (which knows every secret the file held, as text). Sets become arrays, maps objects, and
 * what is not data (the Redactor, the price table's class) is left out.
 */
export function maskedConfig(config: RuntimeConfig): unknown {
  return mask(config, config.redactor, '');
}

function mask(value: unknown, redactor: Redactor, field: string): unknown {
  if (value instanceof Secret) return REDACTED;
  if (SECRET_FIELDS.has(field) && value !== null && value !== undefined) return REDACTED;
  if (typeof value === 'string') return redactor.scrub(maskUrl(value));
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value !== 'object' || value === null) return typeof value === 'function' ? undefined : value;
  if (value instanceof Set) return [...value].map((v) => mask(v, redactor, ''));
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), mask(v, redactor, '')]));
  if (Array.isArray(value)) return value.map((v) => mask(v, redactor, ''));
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_RECORDS.has(k) && typeof v === 'object' && v !== null) {
      out[k] = Object.fromEntries(Object.keys(v).map((name) => [name, REDACTED]));
      continue;
    }
    const masked = mask(v, redactor, k);
    if (masked !== undefined) out[k] = masked;
  }
  return out;
}

/** A URL with its user info's password replaced; other text unchanged. */
function maskUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(text)) return text;
  try {
    const url = new URL(text);
    if (url.password === '') return text;
    url.password = 'redacted';
    return url.toString().replace(':redacted@', `:${REDACTED}@`);
  } catch {
    return text;
  }
}

/**
 * `GET /admin/config`: the running config (secrets masked, see maskedConfig), the file it
 * came from, when this version was loaded, and the reload status (issue 20: the version
 * number and the last reload attempt, with its error when it was refused).
 */
export function registerConfigAdmin(admin: FastifyInstance, sources: AdminSources): void {
  admin.get('/config', async () => {
    const config = sources.config();
    return { object: 'config', source: config.source, loadedAt: sources.loadedAt(), reload: sources.reload(), config: maskedConfig(config) };
  });
}
