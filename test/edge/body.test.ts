import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { isPlainText, parseJsonBody, readBody, type BodyFailure } from '../../src/edge/body.js';
import { SluiceError } from '../../src/errors.js';

/** A request stream with the given headers; the test writes its body. */
function fakeRequest(headers: Record<string, string>): PassThrough & IncomingMessage {
  return Object.assign(new PassThrough(), { headers }) as unknown as PassThrough & IncomingMessage;
}

function read(req: IncomingMessage, limit: number): Promise<{ failure: BodyFailure | null; text: string }> {
  return new Promise((resolve) => readBody(req, limit, (failure, text) => resolve({ failure, text })));
}

describe('the edge reads and parses bodies once (edge/body.ts)', () => {
  test('a body split inside a multi-byte character is decoded whole', async () => {
    const req = fakeRequest({});
    const reading = read(req, 100);
    const bytes = Buffer.from('{"a":"é"}');
    req.write(bytes.subarray(0, 7));
    req.end(bytes.subarray(7));
    assert.deepEqual(await reading, { failure: null, text: '{"a":"é"}' });
  });

  test('a declared length over the limit is refused before reading; a body growing past it while read', async () => {
    const declared = await read(fakeRequest({ 'content-length': '11' }), 10);
    assert.equal((declared.failure as SluiceError).code, 'SLUICE_ERR_BODY_TOO_LARGE');
    const req = fakeRequest({});
    const reading = read(req, 10);
    req.end('x'.repeat(11));
    assert.equal(((await reading).failure as SluiceError).code, 'SLUICE_ERR_BODY_TOO_LARGE');
  });

  test('a body shorter than its Content-Length is refused; a failed stream is a client gone', async () => {
    const req = fakeRequest({ 'content-length': '5' });
    const reading = read(req, 10);
    req.end('abc');
    const short = await reading;
    assert.equal((short.failure as SluiceError).code, 'SLUICE_ERR_INVALID_REQUEST');
    const broken = fakeRequest({});
    const failing = read(broken, 10);
    broken.destroy(new Error('ECONNRESET'));
    assert.equal((await failing).failure, 'gone');
  });

  test('parseJsonBody: empty, invalid, __proto__ and too deep are catalog errors', () => {
    const code = (text: string): string => {
      try {
        parseJsonBody(text);
        return 'parsed';
      } catch (err) {
        return (err as SluiceError).code;
      }
    };
    assert.equal(code(''), 'SLUICE_ERR_INVALID_JSON');
    assert.equal(code('{"a":'), 'SLUICE_ERR_INVALID_JSON');
    assert.equal(code('{"__proto__":{"x":1}}'), 'SLUICE_ERR_INVALID_JSON');
    assert.equal(code(`${'['.repeat(300)}${']'.repeat(300)}`), 'SLUICE_ERR_JSON_TOO_DEEP');
    assert.equal(code('{"constructor":{"prototype":{}}}'), 'parsed');
    assert.deepEqual(parseJsonBody('{"model":"m"}'), { model: 'm' });
  });

  test('isPlainText: text/plain with or without parameters, in any case; nothing else', () => {
    for (const t of ['text/plain', 'text/plain; charset=utf-8', 'Text/Plain;charset=utf-8']) assert.equal(isPlainText(t), true, t);
    for (const t of [undefined, '', 'application/json', 'text/plain2', 'text/html', 'application/x-www-form-urlencoded']) assert.equal(isPlainText(t), false, String(t));
  });
});
