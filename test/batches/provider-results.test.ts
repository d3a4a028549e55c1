import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordResult, sentIds, usageRecordId } from '../../src/batches/provider-results.js';
import type { ClaimedProviderBatch, ProviderLine } from '../../src/batches/provider-store.js';
import { ANONYMOUS } from '../../src/exchange/principal.js';

/** A provider batch's results as Sluice records them (issue 21): output lines under the client's ids, usage at the batch price. */

const line = (n: number, customId: string): ProviderLine => ({ id: `batch_1:${n}`, line: n, customId, body: '{}' });
const pb: ClaimedProviderBatch = {
  batchId: 'batch_1',
  provider: 'up',
  route: 'r',
  model: 'gpt-x',
  targetModel: 'gpt-x-1',
  price: { input: 2, output: 8, cachedInput: 1 },
  state: 'running',
  ref: { id: 'b', fileId: 'f' },
  submittedAt: 1_700_000_000_000,
  cancelSent: false,
  status: 'in_progress',
  endpoint: '/v1/chat/completions',
  principal: { ...ANONYMOUS, id: 'key:k', keyId: 'k', tier: 'gold' },
};

describe('provider batch results', () => {
  test("the client's custom ids when the provider takes them all, else line-<n> for every line", () => {
    const lines = [line(1, 'a-1'), line(2, 'b_2')];
    assert.deepEqual([...sentIds(lines, /^[a-z0-9_-]+$/).keys()], ['a-1', 'b_2']);
    assert.deepEqual([...sentIds([...lines, line(3, 'c.3')], /^[a-z0-9_-]+$/).keys()], ['line-1', 'line-2', 'line-3']);
    assert.deepEqual([...sentIds([line(1, 'any thing')], null).keys()], ['any thing']);
  });

  test('usage record ids are the same for the same line (a replay is a no-op) and differ between lines', () => {
    const a = usageRecordId(1_700_000_000_000, 'batch_1:1');
    assert.equal(a, usageRecordId(1_700_000_000_000, 'batch_1:1'));
    assert.notEqual(a, usageRecordId(1_700_000_000_000, 'batch_1:2'));
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test('a result that ran: its output line, and a usage record at the price times the multiplier', () => {
    const r = recordResult(pb, line(1, 'a'), { customId: 'a', status: 200, requestId: 'req_1', body: { ok: true }, error: null, cancelled: false, usage: { promptTokens: 1000, cachedPromptTokens: 400, completionTokens: 100, totalTokens: 1100 } }, 'up', 0.5, 1_700_000_100_000, pb.submittedAt!);
    assert.equal(r.line.ok, true);
    const out = JSON.parse(r.line.result) as { custom_id: string; response: { status_code: number; request_id: string; body: unknown }; error: null };
    assert.deepEqual([out.custom_id, out.response.status_code, out.response.request_id, out.response.body, out.error], ['a', 200, 'req_1', { ok: true }, null]);
    const u = JSON.parse(r.usage!) as Record<string, unknown>;
    // (600 × 2 + 400 × 1 + 100 × 8) / 1e6 = $0.0024 at list price; half in a batch.
    assert.ok(Math.abs((u.cost_usd as number) - 0.0012) < 1e-12, String(u.cost_usd));
    assert.deepEqual([u.batch_id, u.principal, u.key_id, u.tier, u.model, u.target_model, u.provider, u.endpoint, u.status], ['batch_1', 'key:k', 'k', 'gold', 'gpt-x', 'gpt-x-1', 'up', 'chat', 200]);
  });

  test('an error answer is a failed line with a usage record; one that never ran has none', () => {
    const failed = recordResult(pb, line(2, 'b'), { customId: 'b', status: 400, requestId: '', body: { error: { message: 'no', type: 'invalid_request_error', code: 'bad' } }, error: null, cancelled: false, usage: null }, 'up', 0.5, 0, 0);
    assert.equal(failed.line.ok, false);
    assert.equal((JSON.parse(failed.usage!) as { error_code: string }).error_code, 'bad');
    const expired = recordResult(pb, line(3, 'c'), { customId: 'c', status: 0, requestId: '', body: null, error: { code: 'batch_expired', message: 'expired' }, cancelled: false, usage: null }, 'up', 0.5, 0, 0);
    assert.equal(expired.usage, null);
    assert.deepEqual(JSON.parse(expired.line.result).error, { code: 'batch_expired', message: 'expired' });
    assert.equal(JSON.parse(expired.line.result).response, null);
  });
});
