import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { catalog, SluiceError, type ErrorCode } from '../src/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** Rows of the catalog table: | `CODE` | status | type | when | */
function documented(): Map<string, { status: string; type: string }> {
  const rows = new Map<string, { status: string; type: string }>();
  for (const line of doc.split('\n')) {
    const m = /^\|\s*`(SLUICE_ERR_[A-Z_]+)`\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|/.exec(line);
    if (m !== null) rows.set(m[1]!, { status: m[2]!, type: m[3]! });
  }
  return rows;
}

test('every catalog code is documented in docs/errors.md with its status and type', () => {
  const rows = documented();
  for (const [code, entry] of Object.entries(catalog)) {
    const row = rows.get(code);
    assert.ok(row, `${code} is missing from docs/errors.md`);
    assert.equal(row.status, entry.status === 0 ? "upstream's" : String(entry.status), `${code} status`);
    assert.equal(row.type, entry.type, `${code} type`);
  }
});

test('docs/errors.md documents no code that the catalog lacks', () => {
  for (const code of documented().keys()) assert.ok(code in catalog, `${code} is documented but not in src/errors.ts`);
  // Every code mentioned anywhere in the doc exists, not only table rows.
  for (const m of doc.matchAll(/SLUICE_ERR_[A-Z_]+/g)) assert.ok(m[0] in catalog, `${m[0]} is mentioned but unknown`);
});

test('errors serialise in the OpenAI shape with their code', () => {
  for (const code of Object.keys(catalog) as ErrorCode[]) {
    const body = new SluiceError(code).toBody();
    assert.equal(body.error.code, code);
    assert.equal(typeof body.error.message, 'string');
    assert.ok(body.error.message.length > 0);
    assert.equal(body.error.param, null);
  }
  assert.equal(new SluiceError('SLUICE_ERR_UPSTREAM_STATUS', { status: 429 }).status, 429);
  assert.equal(new SluiceError('SLUICE_ERR_UPSTREAM_STATUS').status, 502, 'without an upstream status it is a bad gateway');
});
