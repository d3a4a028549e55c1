/**
 * Reading providers' rate-limit headers (issue 21, quota-aware routing). Pure: values in,
 * milliseconds out. Each reader returns null for an absent or malformed value, so a provider
 * that sends none of them costs a few property reads per answer and no allocation.
 *
 * - OpenAI (and Azure, Groq, Together…): `x-ratelimit-remaining-requests` / `-tokens` (counts)
 *   and `x-ratelimit-reset-requests` / `-tokens` as Go-style durations ("1s", "6m0s", "20ms");
 *   `retry-after-ms` beside `retry-after` on a 429.
 * - Anthropic: `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-remaining` and
 *   `-reset` as RFC 3339 times (https://docs.anthropic.com/en/api/rate-limits#response-headers).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseRetryAfter } from '../../routing/retry.js';

/** One unit of a Go duration ("1h2m3.5s", "250ms"); a duration is one or more of them. */
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/y;
const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000_001 };
const SECONDS = /^\d+(?:\.\d+)?$/;

/** A header's value when it is one string. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  return typeof v === 'string' ? v : null;
}

/** A remaining count ("0", "4999"), or null. */
export function parseCount(value: string | null): number | null {
  if (value === null) return null;
  const n = Number(value.trim());
  return value.trim() !== '' && Number.isFinite(n) && n >= 0 ? n : null;
}

/**
 * A reset as OpenAI writes it: a Go duration ("6m0s", "1.5s", "20ms"), or bare seconds as some
 * OpenAI-compatible APIs send. Milliseconds from now, or null.
 */
export function parseResetDuration(value: string | null): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (v === '') return null;
  if (SECONDS.test(v)) return Math.round(Number(v) * 1000);
  let ms = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < v.length) {
    const m = DURATION_PART.exec(v);
    if (m === null) return null;
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return Math.ceil(ms);
}

/** A reset as Anthropic writes it: an RFC 3339 time. Milliseconds from `nowMs` (0 when past), or null. */
export function parseResetTime(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : null;
}

/** How long a 429 asks to wait: `retry-after-ms` (OpenAI), else `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: IncomingHttpHeaders, nowMs: number): number | null {
  const ms = parseCount(headerValue(headers, 'retry-after-ms'));
  if (ms !== null) return Math.ceil(ms);
  return parseRetryAfter(headerValue(headers, 'retry-after'), nowMs);
}

/** One dimension of a quota reading: what is left and when it is refilled (ms from now; null when unsaid). */
export interface QuotaDimension {
  remaining: number;
  resetMs: number | null;
}

/**
 * What an answer says about the key's request and token quotas; the two objects are the
 * caller's, filled in place (no allocation per answer). Returns which were present.
 */
export function readQuota(headers: IncomingHttpHeaders, nowMs: number, requests: QuotaDimension, tokens: QuotaDimension): { requests: boolean; tokens: boolean } | null {
  let hasRequests = false;
  let hasTokens = false;
  let remaining = parseCount(headerValue(headers, 'x-ratelimit-remaining-requests'));
  if (remaining !== null) {
    hasRequests = true;
    requests.remaining = remaining;
    requests.resetMs = parseResetDuration(headerValue(headers, 'x-ratelimit-reset-requests'));
  }
  remaining = parseCount(headerValue(headers, 'x-ratelimit-remaining-tokens'));
  if (remaining !== null) {
    hasTokens = true;
    tokens.remaining = remaining;
    tokens.resetMs = parseResetDuration(headerValue(headers, 'x-ratelimit-reset-tokens'));
  }
  remaining = parseCount(headerValue(headers, 'anthropic-ratelimit-requests-remaining'));
  if (remaining !== null) {
    hasRequests = true;
    requests.remaining = remaining;
    requests.resetMs = parseResetTime(headerValue(headers, 'anthropic-ratelimit-requests-reset'), nowMs);
  }
  // Anthropic's combined token limit, else its input-token limit (what a prompt estimate is measured against).
  remaining = parseCount(headerValue(headers, 'anthropic-ratelimit-tokens-remaining'));
  let reset = 'anthropic-ratelimit-tokens-reset';
  if (remaining === null) {
    remaining = parseCount(headerValue(headers, 'anthropic-ratelimit-input-tokens-remaining'));
    reset = 'anthropic-ratelimit-input-tokens-reset';
  }
  if (remaining !== null) {
    hasTokens = true;
    tokens.remaining = remaining;
    tokens.resetMs = parseResetTime(headerValue(headers, reset), nowMs);
  }
  if (!hasRequests && !hasTokens) return null;
  return hasRequests && hasTokens ? BOTH : hasRequests ? REQUESTS : TOKENS;
}

const BOTH = Object.freeze({ requests: true, tokens: true });
const REQUESTS = Object.freeze({ requests: true, tokens: false });
const TOKENS = Object.freeze({ requests: false, tokens: true });
