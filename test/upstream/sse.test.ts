import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSse, type SseEvent } from '../../src/upstream/sse.js';

const enc = new TextEncoder();

async function* pieces(parts: readonly (Uint8Array | string)[]): AsyncGenerator<Uint8Array | string> {
  for (const p of parts) yield p;
}

async function collect(parts: readonly (Uint8Array | string)[]): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const ev of parseSse(pieces(parts))) out.push(ev);
  return out;
}

const parse = (text: string): Promise<SseEvent[]> => collect([enc.encode(text)]);

/** Splits bytes at the given offsets (ascending). */
function splitAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const o of [...offsets, bytes.length]) {
    out.push(bytes.subarray(prev, o));
    prev = o;
  }
  return out;
}

const SAMPLE =
  ': keep-alive comment\r\n' +
  'event: message\r\n' +
  'data: {"a":1}\r\n' +
  '\r\n' +
  'id: 7\n' +
  'retry: 1000\n' +
  'data: first\n' +
  'data: second\n' +
  '\n' +
  'data:[DONE]\n' +
  '\n' +
  'event: note\n' +
  'data: café 🙂\n' +
  '\n';

const SAMPLE_EVENTS: SseEvent[] = [
  { event: 'message', data: '{"a":1}' },
  { event: null, data: 'first\nsecond' },
  { event: null, data: '[DONE]' },
  { event: 'note', data: 'café 🙂' },
];

describe('parseSse', () => {
  test('the sample stream in one piece', async () => {
    assert.deepEqual(await parse(SAMPLE), SAMPLE_EVENTS);
  });

  test('every split point into two pieces gives the same events', async () => {
    const bytes = enc.encode(SAMPLE);
    for (let i = 0; i <= bytes.length; i++) {
      assert.deepEqual(await collect(splitAt(bytes, [i])), SAMPLE_EVENTS, `split at ${i}`);
    }
  });

  test('every pair of split points into three pieces gives the same events', async () => {
    const bytes = enc.encode(SAMPLE);
    for (let i = 1; i < bytes.length; i++) {
      for (let j = i + 1; j < bytes.length; j++) {
        assert.deepEqual(await collect(splitAt(bytes, [i, j])), SAMPLE_EVENTS, `split at ${i}, ${j}`);
      }
    }
  });

  test('one byte per piece gives the same events', async () => {
    const bytes = enc.encode(SAMPLE);
    const offsets = Array.from({ length: bytes.length - 1 }, (_, k) => k + 1);
    assert.deepEqual(await collect(splitAt(bytes, offsets)), SAMPLE_EVENTS);
  });

  test('string pieces are accepted too', async () => {
    assert.deepEqual(await collect(['data: a', 'b\n', '\ndata: c\n\n']), [
      { event: null, data: 'ab' },
      { event: null, data: 'c' },
    ]);
  });

  test('CRLF line endings', async () => {
    assert.deepEqual(await parse('event: e\r\ndata: x\r\ndata: y\r\n\r\ndata: z\r\n\r\n'), [
      { event: 'e', data: 'x\ny' },
      { event: null, data: 'z' },
    ]);
  });

  test('multi-line data is joined with \\n; event resets after each event', async () => {
    assert.deepEqual(await parse('event: a\ndata: 1\ndata: 2\ndata: 3\n\ndata: 4\n\n'), [
      { event: 'a', data: '1\n2\n3' },
      { event: null, data: '4' },
    ]);
  });

  test('comments, id, retry and unknown fields are ignored; an event without data is not dispatched', async () => {
    assert.deepEqual(await parse(': hi\nid: 1\nretry: 5\nfoo: bar\n\nevent: lonely\n\n: only a comment\n\ndata: x\n\n'), [{ event: null, data: 'x' }]);
  });

  test('data: without a space, only one leading space removed, field without colon', async () => {
    assert.deepEqual(await parse('data:x\n\ndata:  two spaces\n\ndata\n\ndata: a:b\n\n'), [
      { event: null, data: 'x' },
      { event: null, data: ' two spaces' },
      { event: null, data: '' },
      { event: null, data: 'a:b' },
    ]);
  });

  test('consecutive blank lines dispatch nothing extra', async () => {
    assert.deepEqual(await parse('\n\n\ndata: a\n\n\n\n'), [{ event: null, data: 'a' }]);
  });

  test('a multi-byte character split across two pieces decodes correctly', async () => {
    for (const ch of ['é', '🙂', '€']) {
      const bytes = enc.encode(`data: x${ch}y\n\n`);
      const start = enc.encode('data: x').length;
      const width = enc.encode(ch).length;
      for (let k = 1; k < width; k++) {
        assert.deepEqual(await collect(splitAt(bytes, [start + k])), [{ event: null, data: `x${ch}y` }], `${ch} split after byte ${k}`);
      }
    }
  });

  test('a trailing event without its blank line is dropped', async () => {
    assert.deepEqual(await parse('data: a\n\ndata: b\n'), [{ event: null, data: 'a' }]);
    assert.deepEqual(await parse('data: a\n\ndata: b'), [{ event: null, data: 'a' }]);
    assert.deepEqual(await parse(''), []);
  });

  test('events are yielded as soon as their blank line arrives', async () => {
    let fed = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      fed = 1;
      yield enc.encode('data: one\n\n');
      fed = 2;
      yield enc.encode('data: two\n\n');
    }
    const it = parseSse(source());
    const first = await it.next();
    assert.deepEqual(first.value, { event: null, data: 'one' });
    assert.equal(fed, 1);
    const second = await it.next();
    assert.deepEqual(second.value, { event: null, data: 'two' });
    assert.equal(fed, 2);
    assert.equal((await it.next()).done, true);
  });
});
