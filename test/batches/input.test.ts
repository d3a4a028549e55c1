import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseInput } from '../../src/batches/input.js';

const line = (customId: unknown, extra: Record<string, unknown> = {}): string => JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [] }, ...extra });

test('good lines become requests with their line numbers; blank lines and CRLF are skipped', () => {
  const { lines, errors } = parseInput(Buffer.from(`${line('a')}\r\n\n${line('b')}\n`), '/v1/chat/completions');
  assert.deepEqual(errors, []);
  assert.deepEqual(
    lines.map((l) => [l.line, l.customId, JSON.parse(l.body)]),
    [
      [1, 'a', { model: 'm', messages: [] }],
      [3, 'b', { model: 'm', messages: [] }],
    ],
  );
});

test('each kind of bad line is reported with its line and param, and the rest is still checked', () => {
  const text = [
    '[1]',
    '{oops',
    line(''),
    line('a'),
    line('a'),
    line('b', { method: 'PUT' }),
    line('c', { url: '/v1/embeddings' }),
    line('d', { body: [] }),
  ].join('\n');
  const { errors } = parseInput(Buffer.from(text), '/v1/chat/completions');
  assert.deepEqual(
    errors.map((e) => [e.line, e.param, e.code]),
    [
      [1, null, 'SLUICE_ERR_BATCH_INPUT_INVALID'],
      [2, null, 'SLUICE_ERR_BATCH_INPUT_INVALID'],
      [3, 'custom_id', 'SLUICE_ERR_BATCH_INPUT_INVALID'],
      [5, 'custom_id', 'SLUICE_ERR_BATCH_INPUT_INVALID'],
      [6, 'method', 'SLUICE_ERR_BATCH_INPUT_INVALID'],
      [7, 'url', 'SLUICE_ERR_BATCH_INPUT_INVALID'],
      [8, 'body', 'SLUICE_ERR_BATCH_INPUT_INVALID'],
    ],
  );
  assert.match(errors[3]!.message, /used by an earlier line/);
});

test('an empty file is an error of its own, without a line', () => {
  const { lines, errors } = parseInput(Buffer.from('\n\n'), '/v1/embeddings');
  assert.equal(lines.length, 0);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.line, null);
});
