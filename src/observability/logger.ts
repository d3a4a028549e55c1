import { pino, type DestinationStream, type Logger } from 'pino';
import type { Redactor } from '../lib/redactor.js';

/** Request headers that carry credentials: client keys, JWTs, admin tokens, provider keys. */
const credentialHeaders = ['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie', 'set-cookie'];

/**
 * Field paths that may hold credentials, redacted by name where headers are logged (fastify's
 * `req`, a logged `headers`). Only fixed paths: pino's wildcard paths (`*.apiKey`) walk every
 * logged object and measured 3-15x the cost of the whole request line, while fixed ones are
 * almost free. Credentials elsewhere are protected by type: config secrets are `Secret`
 * objects that print as "[redacted]", and keys and admin tokens are kept only as hashes.
 */
export const redactPaths = [...['req.headers', 'headers'].flatMap((at) => credentialHeaders.map((h) => `${at}["${h}"]`)), 'apiKey', 'api_key'];

/**
 * The process logger. With a `redactor` (the compiled config's), every line is scrubbed of
 * the config's secrets and credential shapes as it is written: upstream text reaches logs in
 * error messages, causes, stacks and health reasons, and one hook at the end covers them all
 * (issue 15). A line without a credential is written as it was.
 */
export function createLogger(level: string, destination?: DestinationStream, redactor?: Pick<Redactor, 'scrub'>): Logger {
  return pino(
    {
      level,
      base: { service: 'sluice' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      ...(redactor === undefined ? {} : { hooks: { streamWrite: (line: string) => redactor.scrub(line) } }),
    },
    destination,
  );
}
