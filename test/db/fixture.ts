import type { UsageRecord } from '../../src/accounting/record.js';

/**
 * A fixed set of usage records over three days, with groups that tie on cost, records that
 * share a start time, null dimensions, errors, cache hits and estimates. Costs are
 * multiples of 1/1024 and latencies whole numbers, so sums are exact in any order.
 */
export function usageFixture(): UsageRecord[] {
  const records: UsageRecord[] = [];
  const keys = ['key:k1', 'key:k2', 'key:k3', 'anonymous'];
  const models = ['gpt-4o', 'mock-1', 'claude-x'];
  const start = Date.parse('2026-11-20T03:17:00.000Z');
  for (let i = 0; i < 41; i++) {
    const principal = keys[i % keys.length]!;
    // Every fifth record shares the previous one's start time: the log must order the tie by id.
    const at = new Date(start + Math.floor(i - (i % 5 === 4 ? 1 : 0)) * 97 * 60_000).toISOString();
    records.push({
      id: `rec-${String(i).padStart(3, '0')}-${(i * 7919) % 1000}`,
      request_id: i % 6 === 0 ? 'shared-client-id' : `req-${i}`,
      started_at: at,
      principal,
      key_id: principal === 'anonymous' ? null : principal.slice(4),
      user_id: i % 3 === 0 ? null : `user-${i % 2}`,
      tier: i % 4 === 0 ? 'pro' : 'default',
      route: models[i % 3] === 'claude-x' ? 'anthropic' : 'main',
      endpoint: i % 5 === 0 ? 'embeddings' : 'chat',
      stream: i % 2 === 0,
      provider: i % 7 === 0 ? null : i % 2 === 0 ? 'openai' : 'mock',
      model: models[i % 3]!,
      target_model: i % 7 === 0 ? null : models[i % 3]!,
      fallback_model: i % 11 === 0 ? 'mock-1' : null,
      status: i % 9 === 0 ? 502 : i % 13 === 0 ? 429 : 200,
      error_code: i % 9 === 0 ? 'SLUICE_ERR_UPSTREAM' : null,
      client_gone: i % 17 === 0,
      latency_ms: 10 + (i % 6) * 5,
      ttfb_ms: i % 2 === 0 ? 4 : null,
      upstream_ms: i % 7 === 0 ? null : 8.5,
      prompt_tokens: 10 + i,
      completion_tokens: (i * 3) % 17,
      cached_prompt_tokens: i % 4 === 0 ? 5 : 0,
      estimated: i % 8 === 0,
      // Groups tie on cost: the order must not depend on the database.
      cost_usd: (i % 4) / 1024,
      cache: i % 3 === 0 ? null : i % 3 === 1 ? 'miss' : i % 2 === 0 ? 'hit' : 'coalesced',
      retries: i % 3,
      // Issue 18: cache writes (parts of the prompt) and reasoning (part of the completion).
      cache_write_tokens: i % 5 === 1 ? 7 : 0,
      cache_write_1h_tokens: i % 6 === 2 ? 3 : 0,
      reasoning_tokens: i % 3 === 1 ? ((i * 3) % 17) >> 1 : 0,
      batch_id: null,
    });
  }
  // Three records alone in their tier that tie on cost and count whatever the grouping:
  // their order (nulls last) must be the same on both databases.
  for (const [i, provider] of [null, 'x-b', 'x-a'].entries()) {
    records.push({ ...records[i]!, id: `tie-${i}`, tier: 'tie', provider, user_id: provider, cost_usd: 0 });
  }
  return records;
}
