import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Header and field paths that may hold credentials. Config secrets are `Secret` objects and
 * print as "[redacted]" anyway; this list covers what arrives from clients.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
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
