import { z } from 'zod';
import { parseDuration, parseSize } from '../lib/units.js';

/** Shared field schemas of the configuration, used by the main schema and provider types. */

export const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(v)} (use e.g. 500ms, 30s, 5m, 7d, or milliseconds)` });
    return z.NEVER;
  }
  return ms;
});

export const size = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === null) {
    ctx.addIssue({ code: 'custom', message: `invalid size ${JSON.stringify(v)} (use e.g. 512kb, 4mb, or bytes)` });
    return z.NEVER;
  }
  return bytes;
});

/** A number, or a string holding one (as `${PORT}` interpolation produces). */
export const numeric = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v), schema);
