import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MockEngine, embeddingVector, type ChatCompletionChunk } from '../../src/mock/engine.js';
import { defaultMockOptions, type MockOptions } from '../../src/mock/options.js';
import { FakeClock } from '../../src/lib/clock.js';

const clock = new FakeClock(1_700_000_000_000);
const engine = (o: Partial<MockOptions> = {}): MockEngine => new MockEngine({ ...defaultMockOptions, ...o }, clock);
const chat = (text: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: 'mock-1',
  messages: [{ role: 'user', content: text }],
  ...extra,
});

function norm(v: number[]): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

describe('MockEngine content', () => {
  test('same request gives the same answer, a different one a different answer', () => {
    const a = engine().chatCompletion(chat('hello'));
    const b = engine().chatCompletion(chat('hello'));
    const c = engine().chatCompletion(chat('hello!'));
    assert.deepEqual(a, b);
    assert.notEqual(a.choices[0]?.message.content, c.choices[0]?.message.content);
    assert.match(a.id, /^chatcmpl-mock-[0-9a-f]{24}$/);
    assert.equal(a.object, 'chat.completion');
    assert.equal(a.created, 1_700_000_000);
    assert.equal(a.model, 'mock-1');
  });

  test('word count within 8..40, one word per completion token, prompt tokens = ceil(chars/4)', () => {
    for (let i = 0; i < 50; i++) {
      const r = engine().chatCompletion(chat(`prompt number ${i}`));
      const words = (r.choices[0]?.message.content ?? '').split(' ');
      assert.ok(words.length >= 8 && words.length <= 40, `count ${words.length}`);
      assert.equal(r.usage.completion_tokens, words.length);
      assert.equal(r.usage.prompt_tokens, Math.ceil(`prompt number ${i}`.length / 4));
      assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
      assert.equal(r.choices[0]?.finish_reason, 'stop');
    }
  });

  test('max_tokens and max_completion_tokens cap the answer with finish_reason length', () => {
    const r = engine().chatCompletion(chat('cap me', { max_tokens: 5 }));
    assert.equal(r.usage.completion_tokens, 5);
    assert.equal(r.choices[0]?.finish_reason, 'length');
    const r2 = engine().chatCompletion(chat('cap me', { max_completion_tokens: 3 }));
    assert.equal(r2.usage.completion_tokens, 3);
    assert.equal(r2.choices[0]?.finish_reason, 'length');
    const r3 = engine().chatCompletion(chat('cap me', { max_tokens: 100 }));
    assert.equal(r3.choices[0]?.finish_reason, 'stop');
  });

  test('odd input does not crash', () => {
    const e = engine();
    assert.equal(e.chatCompletion({}).usage.prompt_tokens, 0);
    assert.equal(e.chatCompletion({ messages: 'nope', model: 7 }).model, 'mock-1');
    assert.deepEqual(e.embeddings({}).data, []);
    assert.ok(e.completion({ prompt: [1, 2, 3] }).choices[0]?.text);
  });
});

describe('MockEngine chunks', () => {
  test('chat chunk sequence: role, one per word, finish', () => {
    const body = chat('stream me');
    const full = engine().chatCompletion(body);
    const chunks = engine().chatChunks(body, false);
    const n = full.usage.completion_tokens;
    assert.equal(chunks.length, n + 2);
    assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: 'assistant', content: '' });
    assert.deepEqual(chunks.at(-1)?.choices[0]?.delta, {});
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'stop');
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.id, full.id);
      assert.equal('usage' in c, false);
    }
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    assert.equal(text, full.choices[0]?.message.content);
    assert.ok(!(chunks[1]?.choices[0]?.delta.content ?? '').startsWith(' '));
    assert.ok((chunks[2]?.choices[0]?.delta.content ?? '').startsWith(' '));
  });

  test('include_usage: usage null on every chunk plus a last chunk with empty choices', () => {
    const body = chat('usage please', { max_tokens: 4 });
    const chunks: ChatCompletionChunk[] = engine().chatChunks(body, true);
    assert.equal(chunks.length, 4 + 3);
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
    const last = chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.equal(last?.usage?.completion_tokens, 4);
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'length');
  });

  test('legacy completions: text_completion, first prompt of an array answered', () => {
    const body = { model: 'mock-1', prompt: ['once upon', 'a time'] };
    const full = engine().completion(body);
    assert.equal(full.object, 'text_completion');
    assert.equal(full.choices.length, 1);
    assert.equal(full.choices[0]?.logprobs, null);
    const chunks = engine().completionChunks(body, true);
    const n = full.usage?.completion_tokens ?? 0;
    assert.equal(chunks.length, n + 2);
    assert.equal(chunks.slice(0, -1).map((c) => c.choices[0]?.text).join(''), full.choices[0]?.text);
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'stop');
    assert.deepEqual(chunks.at(-1)?.choices, []);
    assert.deepEqual(chunks.at(-1)?.usage, full.usage);
  });
});

describe('MockEngine embeddings', () => {
  test('deterministic, normalised, independent of batch position', () => {
    const one = engine().embeddings({ model: 'emb', input: 'alpha' });
    const batch = engine().embeddings({ model: 'emb', input: ['beta', 'alpha', 'gamma'] });
    assert.equal(one.object, 'list');
    assert.equal(one.model, 'emb');
    const a1 = one.data[0]?.embedding as number[];
    const a2 = batch.data[1]?.embedding as number[];
    assert.equal(a1.length, 256);
    assert.deepEqual(a1, a2);
    assert.deepEqual(batch.data.map((d) => d.index), [0, 1, 2]);
    assert.notDeepEqual(batch.data[0]?.embedding, a1);
    for (const d of batch.data) assert.ok(Math.abs(norm(d.embedding as number[]) - 1) < 1e-9);
    assert.equal(batch.usage.prompt_tokens, Math.ceil('betaalphagamma'.length / 4));
    assert.equal(batch.usage.total_tokens, batch.usage.prompt_tokens);
  });

  test('dimensions, token arrays and base64', () => {
    const e = engine();
    assert.equal((e.embeddings({ input: 'x', dimensions: 8 }).data[0]?.embedding as number[]).length, 8);
    assert.equal(e.embeddings({ input: [1, 2, 3] }).data.length, 1);
    assert.equal(e.embeddings({ input: [[1, 2], [3]] }).data.length, 2);
    const b64 = e.embeddings({ input: 'x', dimensions: 4, encoding_format: 'base64' }).data[0]?.embedding as string;
    const buf = Buffer.from(b64, 'base64');
    const decoded = [0, 1, 2, 3].map((i) => buf.readFloatLE(i * 4));
    embeddingVector('x', 4).forEach((v, i) => assert.ok(Math.abs(v - (decoded[i] ?? 0)) < 1e-6));
  });
});

describe('MockEngine faults', () => {
  test('no fault by default', () => {
    assert.equal(engine().nextFault(), null);
  });

  test('status option: always that status, retryAfter only with 429', () => {
    assert.deepEqual(engine({ status: 429, retryAfter: 3 }).nextFault(), { status: 429, retryAfter: 3 });
    assert.deepEqual(engine({ status: 503, retryAfter: 3 }).nextFault(), { status: 503, retryAfter: null });
    assert.deepEqual(engine({ status: 429 }).nextFault(), { status: 429, retryAfter: null });
  });

  test('failRate is reproducible per seed and close to the fraction', () => {
    const draws = (seed: number): boolean[] => {
      const e = engine({ failRate: 0.2, seed });
      return Array.from({ length: 1000 }, () => e.nextFault() !== null);
    };
    const a = draws(42);
    assert.deepEqual(a, draws(42));
    assert.notDeepEqual(a, draws(43));
    const n = a.filter(Boolean).length;
    assert.ok(n > 150 && n < 250, `failures ${n}`);
    assert.deepEqual(engine({ failRate: 1 }).nextFault(), { status: 500, retryAfter: null });
  });

  test('error bodies are OpenAI-shaped', () => {
    const e = engine();
    assert.deepEqual(e.errorBody(429).error.code, 'rate_limit_exceeded');
    assert.equal(e.errorBody(429).error.type, 'requests');
    assert.equal(e.errorBody(502).error.type, 'server_error');
    assert.equal(e.errorBody(400).error.type, 'invalid_request_error');
    assert.equal(e.errorBody(400).error.param, null);
  });
});
