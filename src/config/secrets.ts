import { Redactor } from '../lib/redactor.js';
import type { Config } from './schema.js';
import { redisSecrets } from '../stores/connection.js';

/**
 * Every value the config holds that is a credential: provider API keys and the values of
 * provider headers (operators put `Authorization` or `api-key` there), client keys, admin
 * tokens, the JWT secret, the OIDC client secret, tracing export headers, and passwords in URLs (Redis, database,
 * provider base URLs: they appear in connection error messages; service instance URLs may
 * not hold credentials at all).
 * Compiled config keeps keys and tokens only as hashes; the Redactor made here is the one
 * place their text survives, inside a pattern that never prints.
 */
export function configSecrets(config: Config): string[] {
  const out: string[] = [];
  for (const p of Object.values(config.providers ?? {})) {
    if ('apiKey' in p && typeof p.apiKey === 'string') out.push(p.apiKey);
    if ('apiKey' in p && Array.isArray(p.apiKey)) out.push(...p.apiKey);
    if ('headers' in p && p.headers !== undefined) out.push(...Object.values(p.headers));
  }
  for (const k of config.keys) out.push(k.key);
  for (const t of config.admin.tokens) out.push(typeof t === 'string' ? t : t.token);
  if (config.auth.jwt?.secret !== undefined) out.push(config.auth.jwt.secret);
  if (config.admin.oidc !== undefined) out.push(config.admin.oidc.clientSecret);
  out.push(...Object.values(config.tracing.headers));
  out.push(...redisSecrets(config.state.redis));
  const urls = [config.database.url, ...config.database.replicas];
  for (const p of Object.values(config.providers ?? {})) if ('baseUrl' in p) urls.push(p.baseUrl);
  for (const url of urls) {
    const password = url === undefined ? '' : urlPassword(url);
    if (password !== '') out.push(password, encodeURIComponent(password));
  }
  return out;
}

function urlPassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

/** The Redactor for a config: what clients and logs must never see of it. */
export function redactorFor(config: Config): Redactor {
  return new Redactor(configSecrets(config));
}
