/**
 * Embeddings batching (issue 21) end to end: 50 concurrent requests through the official
 * `openai` SDK become a handful of upstream calls, with answers identical to unbatched ones.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';
import { metricValue } from '../helpers/wait.js';

const UPSTREAM_MODEL = 'text-embedding-3-small';

/** Client i's input: one text, or two or three (so members carry different numbers of inputs). */
function inputOf(i: number): string | string[] {
  const text = (k: number): string => `document ${i}.${k} about rivers, ${'water '.repeat((i * 7 + k) % 13)}and banks`;
  return i % 3 === 0 ? text(0) : Array.from({ length: (i % 3) + 1 }, (_, k) => text(k));
}

describe('embeddings batching', () => {
  let mock: MockServer;
  let gw: TestGateway;
  let sdk: OpenAI;
  before(async () => {
    mock = await startMockServer({ port: 0 });
    // A window long enough that 50 requests sent together meet in it on a busy machine; the
    // test waits for nothing but the answers.
    gw = await startGateway({
      providers: { up: { type: 'openai', baseUrl: mock.url } },
      routes: [
        { match: 'batched', targets: [{ provider: 'up', model: UPSTREAM_MODEL }], batching: { window: '250ms', maxInputs: 40 } },
        { match: 'plain', targets: [{ provider: 'up', model: UPSTREAM_MODEL }] },
      ],
    });
    sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('50 concurrent requests become a handful of upstream calls; each answer equals the unbatched one, with its own usage', async () => {
    const inputs = Array.from({ length: 50 }, (_, i) => inputOf(i));
    const totalInputs = inputs.reduce((n, x) => n + (typeof x === 'string' ? 1 : x.length), 0);
    const plain: OpenAI.CreateEmbeddingResponse[] = [];
    for (const input of inputs) plain.push(await sdk.embeddings.create({ model: 'plain', input }));
    mock.stats.requests = 0;
    const batched = await Promise.all(inputs.map((input) => sdk.embeddings.create({ model: 'batched', input })));
    const calls = mock.stats.requests;
    assert.ok(calls >= Math.ceil(totalInputs / 40) && calls <= 10, `${calls} upstream calls for 50 requests (${totalInputs} inputs, at most 40 per call)`);
    let batchedTokens = 0;
    let plainTokens = 0;
    for (let i = 0; i < 50; i++) {
      const b = batched[i]!;
      const p = plain[i]!;
      assert.deepEqual(b.data, p.data, `client ${i}: the same vectors at the same indices`);
      assert.deepEqual(
        b.data.map((d) => d.index),
        b.data.map((_, k) => k),
      );
      assert.equal(b.model, p.model);
      assert.ok(b.usage.prompt_tokens > 0 && b.usage.total_tokens === b.usage.prompt_tokens);
      assert.ok(Math.abs(b.usage.prompt_tokens - p.usage.prompt_tokens) <= 2, `client ${i}: its own usage (${b.usage.prompt_tokens} batched, ${p.usage.prompt_tokens} alone)`);
      batchedTokens += b.usage.prompt_tokens;
      plainTokens += p.usage.prompt_tokens;
    }
    // The provider counts a batch's tokens once; the shares add up to what it reported.
    assert.ok(batchedTokens <= plainTokens && batchedTokens > plainTokens - 50);
    const metrics = (await req.send(gw, '/metrics')).text;
    const labels = `route="batched",target="up/${UPSTREAM_MODEL}"`;
    assert.equal(metricValue(metrics, 'sluice_embeddings_batched_requests_total', labels), 50);
    assert.equal(metricValue(metrics, 'sluice_embeddings_batch_calls_total', labels), calls);
    assert.equal(metricValue(metrics, 'sluice_embeddings_calls_saved_total', labels), 50 - calls);
    assert.equal(metricValue(metrics, 'sluice_tokens_total', `route="batched",provider="up",model="${UPSTREAM_MODEL}",kind="prompt"`), batchedTokens);
  });

  test('a failed batch answers every client with the upstream error', async () => {
    mock.configure({ status: 503 });
    try {
      const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => sdk.embeddings.create({ model: 'batched', input: `fail ${i}` })));
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        assert.equal((r.reason as { status?: number }).status, 503);
      }
    } finally {
      mock.configure({ status: 200 });
    }
  });
});
