import { pino, type DestinationStream, type Logger } from 'pino';

/** Request headers that carry credentials: client keys, JWTs, admin tokens, provider keys. */
const credentialHeaders = ['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie', 'set-cookie'];

/**
 * Field paths that may hold credentials, redacted by name wherever a headers object is
 * logged (fastify's `req`, a logged `headers`, or one nested a level down, such as an
 * upstream call's). Config secrets are `Secret` objects and print as "[redacted]" anyway; key
 * and admin token values are kept only as hashes.
 */
export const redactPaths = [
  ...['req.headers', 'res.headers', 'headers', '*.headers'].flatMap((at) => credentialHeaders.map((h) => `${at}["${h}"]`)),
  'apiKey',
  'api_key',
  '*.apiKey',
  '*.api_key',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'sluice' },
      redact: { paths: redactPaths, censor: '[redacted]' },
    },
    destination,
  );
}
