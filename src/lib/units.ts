/** Parsers for human-friendly durations ("30s", "5m", "7d") and sizes ("4mb"). */

const durationUnits: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const sizeUnits: Record<string, number> = { b: 1, kb: 1024, k: 1024, mb: 1024 ** 2, m: 1024 ** 2, gb: 1024 ** 3, g: 1024 ** 3 };

const durationRe = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/i;
const sizeRe = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)$/i;

/** Milliseconds from a number (already ms) or a string such as "250ms", "30s", "7d". */
export function parseDuration(value: number | string): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  const m = durationRe.exec(value.trim());
  if (m === null) return null;
  return Math.round(Number(m[1]) * (durationUnits[m[2].toLowerCase()] ?? NaN));
}

/** Bytes from a number (already bytes) or a string such as "512kb", "4mb". */
export function parseSize(value: number | string): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : null;
  const m = sizeRe.exec(value.trim());
  if (m === null) return null;
  return Math.floor(Number(m[1]) * (sizeUnits[m[2].toLowerCase()] ?? NaN));
}
