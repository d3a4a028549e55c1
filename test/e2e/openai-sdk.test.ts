import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startMockServer, type MockServer } from '../../src/mock/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const messages = [{ role: 'user' as const, content: 'Rank these brands by trust: Acme, Globex, Initech.' }];

/** The same suite runs against the in-process mock and against an `openai`-type provider
 *  that reaches the standalone mock over HTTP, so both adapters face the official SDK. */
const setups: { name: string; providers: (mock: MockServer) => Record<string, unknown> }[] = [
  { name: 'in-process mock provider', providers: () => ({ up: { type: 'mock' }, bad: { type: 'mock', status: 500 } }) },
  {
    name: 'openai provider to the standalone mock',
    providers: (mock) => ({ up: { type: 'openai', baseUrl: mock.url, apiKey: 'sk-upstream-secret' }, bad: { type: 'mock', status: 500 } }),
  },
];

for (const setup of setups) {
  describe(`openai SDK through Sluice (${setup.name})`, () => {
    let mock: MockServer;
    let gw: TestGateway;
    let client: OpenAI;

    before(async () => {
      mock = await startMockServer({ port: 0 });
      gw = await startGateway({
        providers: setup.providers(mock),
        routes: [
          { match: 'gpt-4o*', targets: [{ provider: 'up', model: 'mock-1' }] },
          { match: 'text-embedding-*', targets: [{ provider: 'up' }] },
          { match: 'broken', targets: [{ provider: 'bad' }] },
        ],
      });
      client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-client', maxRetries: 0 });
    });

    after(async () => {
      await gw.close();
      await mock.close();
    });

    test('chat completion as JSON', async () => {
      const res = await client.chat.completions.create({ model: 'gpt-4o', messages });
      assert.equal(res.object, 'chat.completion');
      assert.equal(res.model, 'mock-1');
      const text = res.choices[0]?.message.content ?? '';
      assert.ok(text.split(' ').length >= 8, `answer too short: ${text}`);
      assert.ok(res.usage !== undefined && res.usage.completion_tokens > 0);
      const again = await client.chat.completions.create({ model: 'gpt-4o', messages });
      assert.equal(again.choices[0]?.message.content, text, 'the mock is deterministic for a given request');
    });

    test('chat stream reassembles to the same text as the JSON answer', async () => {
      const json = await client.chat.completions.create({ model: 'gpt-4o', messages });
      const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
      let text = '';
      let chunks = 0;
      let finish: string | null = null;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        assert.equal(chunk.usage ?? null, null, 'no usage chunk unless the client asked for it');
      }
      assert.equal(text, json.choices[0]?.message.content);
      assert.ok(chunks > 3);
      assert.equal(finish, 'stop');
    });

    test('stream_options.include_usage delivers a final usage chunk', async () => {
      const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true } });
      let usage: OpenAI.CompletionUsage | null | undefined = null;
      let words = 0;
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        if (chunk.choices[0]?.delta.content) words++;
      }
      assert.ok(usage, 'usage chunk received');
      assert.equal(usage.completion_tokens, words);
      assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
    });

    test('legacy completions, JSON and stream', async () => {
      const res = await client.completions.create({ model: 'gpt-4o-instruct', prompt: 'Say something' });
      assert.equal(res.object, 'text_completion');
      const text = res.choices[0]?.text ?? '';
      assert.ok(text.length > 0);
      let streamed = '';
      for await (const c of await client.completions.create({ model: 'gpt-4o-instruct', prompt: 'Say something', stream: true })) {
        streamed += c.choices[0]?.text ?? '';
      }
      assert.equal(streamed, text);
    });

    test('embeddings are deterministic per text', async () => {
      const a = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
      const b = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'beta' });
      assert.equal(a.data.length, 2);
      assert.deepEqual(a.data[1]?.embedding, b.data[0]?.embedding);
      assert.notDeepEqual(a.data[0]?.embedding, a.data[1]?.embedding);
    });

    test('an upstream 500 surfaces as the SDK InternalServerError', async () => {
      await assert.rejects(client.chat.completions.create({ model: 'broken', messages }), (err: unknown) => {
        assert.ok(err instanceof OpenAI.InternalServerError, `got ${String(err)}`);
        assert.equal(err.status, 500);
        assert.equal(err.code, 'SLUICE_ERR_UPSTREAM_STATUS');
        return true;
      });
    });

    test('an unknown model surfaces as the SDK NotFoundError', async () => {
      await assert.rejects(client.chat.completions.create({ model: 'no-such-model', messages }), (err: unknown) => {
        assert.ok(err instanceof OpenAI.NotFoundError, `got ${String(err)}`);
        assert.equal(err.code, 'SLUICE_ERR_MODEL_NOT_FOUND');
        assert.match(err.message, /no-such-model/);
        return true;
      });
    });

    test('the model list names the routed models', async () => {
      const ids: string[] = [];
      for await (const m of client.models.list()) ids.push(m.id);
      assert.deepEqual(ids.sort(), ['broken']);
    });
  });
}
