import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usageCsv } from '../../src/control/admin-usage.js';

// Issue 20: GET /admin/usage?format=csv, the console's export.

test('CSV: a header row, the group columns first, RFC 4180 quoting, CRLF line ends', () => {
  const csv = usageCsv(['bucket', 'model'], [
    { bucket: '2026-12-01T00:00:00Z', model: 'gpt-4o', requests: 3, errors: 0, cost_usd: 0.25, avg_latency_ms: null },
    { bucket: '2026-12-01T00:00:00Z', model: 'a "quoted", model\nname', requests: 1, errors: 1, cost_usd: 0 },
  ]);
  const lines = csv.split('\r\n');
  assert.equal(lines[0], 'bucket,model,requests,errors,prompt_tokens,completion_tokens,cached_prompt_tokens,cache_write_tokens,cache_write_1h_tokens,reasoning_tokens,estimated,cost_usd,cache_hits,avg_latency_ms');
  assert.equal(lines[1], '2026-12-01T00:00:00Z,gpt-4o,3,0,,,,,,,,0.25,,');
  assert.ok(csv.includes('"a ""quoted"", model\nname"'));
  assert.ok(csv.endsWith('\r\n'));
});

test('CSV: text a spreadsheet would run as a formula is written as text', () => {
  const csv = usageCsv(['user'], [{ user: '=HYPERLINK("http://x")' }, { user: '+1' }, { user: '-2' }, { user: '@SUM(A1)' }, { user: 'plain' }]);
  const users = csv.split('\r\n').slice(1, -1).map((l) => l.split(',')[0]);
  assert.deepEqual(users, ['"\'=HYPERLINK(""http://x"")"', "'+1", "'-2", "'@SUM(A1)", 'plain']);
});
