import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError } from '../../../src/errors.js';
import { MockEngine } from '../../../src/mock/engine.js';
import { defaultMockOptions, type MockOptions } from '../../../src/mock/options.js';
import { MockAdapter } from '../../../src/providers/mock/adapter.js';
import type { JsonObject, ProviderCall, StreamResponse } from '../../../src/providers/types.js';
import { call as providerCall } from '../helpers.js';

const opts = (o: Partial<MockOptions> = {}): MockOptions => ({ ...defaultMockOptions, ...o });
const chatBody: JsonObject = { model: 'mock-1', messages: [{ role: 'user', content: 'tell me something' }] };

/** A call with the chat body unless another is given (the shared builder in ../helpers.ts). */
const call = (o: Partial<Parameters<typeof providerCall>[0]> = {}): ProviderCall => providerCall({ body: chatBody, ...o });

async function asStream(p: Promise<unknown>): Promise<StreamResponse> {
  const r = (await p) as StreamResponse;
  assert.equal(r.kind, 'stream');
  return r;
}

describe('MockAdapter', () => {
  test('JSON chat answer with camelCase usage', async () => {
    const a = new MockAdapter('m', opts());
    assert.ok(a instanceof MockAdapter);
    assert.equal(a.type, 'mock');
    assert.equal(a.name, 'm');
    const r = await a.send(call());
    assert.equal(r.kind, 'json');
    if (r.kind !== 'json') return;
    assert.equal(r.status, 200);
    const expected = new MockEngine(opts()).chatCompletion(chatBody);
    const body = JSON.parse(r.body) as typeof expected;
    assert.equal(body.choices[0]?.message.content, expected.choices[0]?.message.content);
    assert.deepEqual(r.usage, {
      promptTokens: expected.usage.prompt_tokens,
      completionTokens: expected.usage.completion_tokens,
      cachedPromptTokens: 0,
      totalTokens: expected.usage.total_tokens,
    });
    await a.close();
  });

  test('embeddings and legacy completions', async () => {
    const a = new MockAdapter('m', opts());
    const e = await a.send(call({ endpoint: 'embeddings', body: { model: 'e', input: ['x', 'y'] } }));
    assert.equal(e.kind === 'json' && (JSON.parse(e.body) as { data: unknown[] }).data.length, 2);
    assert.equal(e.kind === 'json' && e.usage?.completionTokens, 0);
    const c = await a.send(call({ endpoint: 'completions', body: { model: 'm', prompt: 'p' } }));
    assert.equal(c.kind === 'json' && (JSON.parse(c.body) as { object: string }).object, 'text_completion');
  });

  test('stream reassembles to the JSON answer; usage after iteration', async () => {
    const a = new MockAdapter('m', opts({ tokensPerSecond: 5000 }));
    const r = await asStream(a.send(call({ stream: true, includeUsage: true })));
    assert.equal(r.usage(), null);
    let text = '';
    let last: { choices: unknown[]; usage?: unknown } | undefined;
    for await (const s of r.chunks) {
      last = JSON.parse(s) as { choices: { delta: { content?: string } }[] };
      text += (last.choices as { delta: { content?: string } }[])[0]?.delta.content ?? '';
    }
    const expected = new MockEngine(opts()).chatCompletion(chatBody);
    assert.equal(text, expected.choices[0]?.message.content);
    assert.deepEqual(last?.choices, []);
    assert.equal(r.usage()?.completionTokens, expected.usage.completion_tokens);
  });

  test('dropAfterChunks throws SLUICE_ERR_STREAM_INTERRUPTED after N chunks', async () => {
    const a = new MockAdapter('m', opts({ dropAfterChunks: 2 }));
    const r = await asStream(a.send(call({ stream: true })));
    const seen: string[] = [];
    await assert.rejects(
      async () => {
        for await (const s of r.chunks) seen.push(s);
      },
      (err: unknown) => err instanceof SluiceError && err.code === 'SLUICE_ERR_STREAM_INTERRUPTED',
    );
    assert.equal(seen.length, 2);
    assert.equal(r.usage(), null);
  });

  test('status fault rejects with SLUICE_ERR_UPSTREAM_STATUS, keeping status and Retry-After', async () => {
    const a = new MockAdapter('m', opts({ status: 429, retryAfter: 2 }));
    await assert.rejects(a.send(call()), (err: unknown) => {
      assert.ok(err instanceof SluiceError);
      assert.equal(err.code, 'SLUICE_ERR_UPSTREAM_STATUS');
      assert.equal(err.status, 429);
      assert.equal(err.headers?.['retry-after'], '2');
      assert.equal(err.upstream?.code, 'rate_limit_exceeded');
      return true;
    });
    const b = new MockAdapter('m', opts({ status: 503 }));
    await assert.rejects(b.send(call({ stream: true })), (err: unknown) => err instanceof SluiceError && err.status === 503 && err.headers === null);
  });

  test('abort during latency rejects with the signal reason', async () => {
    // A latency far beyond the abort, so a loaded machine's late timers cannot blur the two.
    const a = new MockAdapter('m', opts({ latencyMs: 10_000 }));
    const ac = new AbortController();
    const reason = new SluiceError('SLUICE_ERR_UPSTREAM_TIMEOUT');
    const t0 = Date.now();
    setTimeout(() => ac.abort(reason), 5);
    await assert.rejects(a.send(call({ signal: ac.signal })), (err: unknown) => err === reason);
    assert.ok(Date.now() - t0 < 5_000);
  });

  test('abort stops a paced stream promptly', async () => {
    const a = new MockAdapter('m', opts({ tokensPerSecond: 1 })); // 1 s per chunk: an abort must not wait for it
    const ac = new AbortController();
    const r = await asStream(a.send(call({ stream: true, signal: ac.signal })));
    const it = r.chunks[Symbol.asyncIterator]();
    assert.equal((await it.next()).done, false);
    const pending = it.next(); // waits for the next paced chunk
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 5);
    await assert.rejects(pending, (err: unknown) => err instanceof Error && err.name === 'AbortError');
    assert.ok(Date.now() - t0 < 800);
    assert.equal((await it.next()).done, true);
    assert.equal(r.usage(), null);
  });
});
