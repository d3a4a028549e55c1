import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCount, parseResetDuration, parseResetTime, readQuota, retryAfterMs, type QuotaDimension } from '../../../src/providers/keys/quota.js';

const NOW = Date.parse('2026-12-03T10:00:00Z');

describe('quota headers', () => {
  test("OpenAI's reset durations: Go-style units, fractions, bare seconds", () => {
    assert.equal(parseResetDuration('1s'), 1000);
    assert.equal(parseResetDuration('6m0s'), 360_000);
    assert.equal(parseResetDuration('20ms'), 20);
    assert.equal(parseResetDuration('1h2m3.5s'), 3_723_500);
    assert.equal(parseResetDuration('2m59.56s'), 179_560);
    assert.equal(parseResetDuration('0.5'), 500);
    for (const bad of ['', 'soon', '1x', '5m ago', '-1s', null]) assert.equal(parseResetDuration(bad), null, String(bad));
  });

  test("Anthropic's resets are RFC 3339 times, measured from now (a past one is 0)", () => {
    assert.equal(parseResetTime('2026-12-03T10:00:30Z', NOW), 30_000);
    assert.equal(parseResetTime('2026-12-03T09:59:00Z', NOW), 0);
    assert.equal(parseResetTime('tomorrow', NOW), null);
  });

  test('counts are non-negative numbers', () => {
    assert.equal(parseCount('0'), 0);
    assert.equal(parseCount('4999'), 4999);
    for (const bad of ['', '-1', 'many', null]) assert.equal(parseCount(bad), null, String(bad));
  });

  test('retry-after-ms wins over retry-after; retry-after takes seconds or a date', () => {
    assert.equal(retryAfterMs({ 'retry-after-ms': '1500', 'retry-after': '2' }, NOW), 1500);
    assert.equal(retryAfterMs({ 'retry-after': '2' }, NOW), 2000);
    assert.equal(retryAfterMs({ 'retry-after': new Date(NOW + 5000).toUTCString() }, NOW), 5000);
    assert.equal(retryAfterMs({}, NOW), null);
  });

  test('readQuota fills the two dimensions from OpenAI headers, and says which it saw', () => {
    const requests: QuotaDimension = { remaining: -1, resetMs: null };
    const tokens: QuotaDimension = { remaining: -1, resetMs: null };
    const seen = readQuota({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '6m0s', 'x-ratelimit-remaining-tokens': '120', 'x-ratelimit-reset-tokens': '20ms' }, NOW, requests, tokens);
    assert.deepEqual(seen, { requests: true, tokens: true });
    assert.deepEqual(requests, { remaining: 0, resetMs: 360_000 });
    assert.deepEqual(tokens, { remaining: 120, resetMs: 20 });
  });

  test('readQuota reads Anthropic headers (tokens, else input tokens)', () => {
    const requests: QuotaDimension = { remaining: -1, resetMs: null };
    const tokens: QuotaDimension = { remaining: -1, resetMs: null };
    const seen = readQuota(
      { 'anthropic-ratelimit-requests-remaining': '3', 'anthropic-ratelimit-requests-reset': '2026-12-03T10:00:10Z', 'anthropic-ratelimit-input-tokens-remaining': '0', 'anthropic-ratelimit-input-tokens-reset': '2026-12-03T10:01:00Z' },
      NOW,
      requests,
      tokens,
    );
    assert.deepEqual(seen, { requests: true, tokens: true });
    assert.deepEqual(requests, { remaining: 3, resetMs: 10_000 });
    assert.deepEqual(tokens, { remaining: 0, resetMs: 60_000 });
  });

  test('an answer without quota headers reads as null and touches nothing', () => {
    const requests: QuotaDimension = { remaining: 7, resetMs: 1 };
    const tokens: QuotaDimension = { remaining: 7, resetMs: 1 };
    assert.equal(readQuota({ 'content-type': 'application/json', 'x-ratelimit-remaining-requests': 'lots' }, NOW, requests, tokens), null);
    assert.deepEqual([requests, tokens], [{ remaining: 7, resetMs: 1 }, { remaining: 7, resetMs: 1 }]);
  });
});
