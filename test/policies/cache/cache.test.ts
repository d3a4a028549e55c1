import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RouteCache } from '../../../src/config/compile.js';
import { SluiceError } from '../../../src/errors.js';
import { FakeClock, systemClock } from '../../../src/lib/clock.js';
import { RequestContext } from '../../../src/exchange/context.js';
import { CacheStage, type CacheRuntime } from '../../../src/policies/cache/stage.js';
import { compiledRoute } from '../../helpers/routes.js';
import { chunksToJson, isUsageOnlyChunk, jsonToChunks, parseEntry, serializeEntry, usageChunk, type CacheEntry } from '../../../src/policies/cache/entry.js';
import { Flight } from '../../../src/policies/cache/flight.js';
import { cacheKey, keyMatches, purgePattern } from '../../../src/policies/cache/key.js';
import { MemoryResponseStore } from '../../../src/policies/cache/memory.js';
import { SemanticIndex, promptText, vectorOf } from '../../../src/policies/cache/semantic.js';

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 7, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });

describe('cache entries', () => {
  test('a stream assembles into the chat.completion it stands for, tool calls included', () => {
    const chunks = [
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'rank', arguments: '{"a"' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }),
      chunk({}, 'tool_calls'),
    ];
    const json = JSON.parse(chunksToJson('chat', chunks, { promptTokens: 3, cachedPromptTokens: 0, completionTokens: 4, totalTokens: 7 })) as Record<string, unknown>;
    assert.deepEqual(json, {
      id: 'c1',
      object: 'chat.completion',
      created: 7,
      model: 'm',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello', refusal: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'rank', arguments: '{"a":1}' } }] },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
  });

  test('a JSON answer becomes chunks that assemble back to the same content', () => {
    const body = JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi there' }, finish_reason: 'stop' }] });
    const chunks = jsonToChunks('chat', body);
    assert.equal(chunks.length, 3);
    const back = JSON.parse(chunksToJson('chat', chunks, null)) as { choices: { message: { content: string }; finish_reason: string }[] };
    assert.equal(back.choices[0]!.message.content, 'Hi there');
    assert.equal(back.choices[0]!.finish_reason, 'stop');
  });

  test('legacy completions streams assemble to text_completion', () => {
    const c = (text: string, finish: string | null) => JSON.stringify({ id: 't', object: 'text_completion', created: 1, model: 'm', choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] });
    const json = JSON.parse(chunksToJson('completions', [c('a', null), c('b', 'length')], null)) as { object: string; choices: { text: string; finish_reason: string }[] };
    assert.equal(json.object, 'text_completion');
    assert.equal(json.choices[0]!.text, 'ab');
    assert.equal(json.choices[0]!.finish_reason, 'length');
  });

  test('usage-only chunks are told apart; a replayed usage chunk carries the stream id', () => {
    const u = usageChunk('chat', chunk({ content: 'x' }), { promptTokens: 1, cachedPromptTokens: 0, completionTokens: 2, totalTokens: 3 });
    assert.ok(isUsageOnlyChunk(u));
    assert.ok(!isUsageOnlyChunk(chunk({ content: '"choices":[]' })));
    assert.equal((JSON.parse(u) as { id: string }).id, 'c1');
  });

  test('entries survive serialisation; foreign values do not parse', () => {
    const e: CacheEntry = { format: 'stream', status: 200, body: null, chunks: ['a'], usage: { promptTokens: 1, cachedPromptTokens: 0, completionTokens: 1, totalTokens: 2 }, freshUntil: 5 };
    assert.deepEqual(parseEntry(serializeEntry(e)), e);
    assert.equal(parseEntry('{"format":"json","status":200,"freshUntil":1}'), null);
    assert.equal(parseEntry('not json'), null);
  });
});

describe('cache keys', () => {
  const scope = { namespace: 'brands|x*', tenant: 'key:config:a', version: 2 };
  test('equal requests give equal keys whatever the key order; delivery fields do not count', () => {
    const a = cacheKey('chat', { model: 'm', messages: [{ role: 'user', content: 'q' }], temperature: 0 }, scope);
    const b = cacheKey('chat', { temperature: 0, stream: true, user: 'u', messages: [{ content: 'q', role: 'user' }], model: 'm' }, scope);
    assert.equal(a, b);
    assert.notEqual(a, cacheKey('chat', { model: 'm', messages: [{ role: 'user', content: 'q' }], temperature: 0.5 }, scope));
    assert.notEqual(a, cacheKey('completions', { model: 'm', messages: [{ role: 'user', content: 'q' }], temperature: 0 }, scope));
    assert.notEqual(a, cacheKey('chat', { model: 'm', messages: [{ role: 'user', content: 'q' }], temperature: 0 }, { ...scope, version: 3 }));
  });

  test('the key is pinned: instances of different releases sharing Redis compute the same key', () => {
    const canonicalText = 'chat\n{"messages":[{"content":"q","name":null,"role":"user"}],"model":"m","temperature":0}';
    const key = cacheKey('chat', { temperature: 0, stream: true, model: 'm', messages: [{ role: 'user', name: null, content: 'q', extra: undefined }] }, scope);
    assert.equal(key, `brands%7Cx%2A|key%3Aconfig%3Aa|v2|${createHash('sha256').update(canonicalText).digest('base64url')}`);
  });

  test('purge filters match by part; patterns hold no unescaped separator or glob character', () => {
    const key = cacheKey('chat', { model: 'm' }, scope);
    assert.ok(keyMatches(key, { namespace: 'brands|x*' }));
    assert.ok(keyMatches(key, { namespace: 'brands|x*', tenant: 'key:config:a', version: 2 }));
    assert.ok(!keyMatches(key, { namespace: 'brands' }));
    assert.ok(!keyMatches(key, { namespace: 'brands|x*', version: 1 }));
    assert.equal(purgePattern({ namespace: 'brands|x*', version: 2 }), 'brands%7Cx%2A|*|v2|*');
  });

  test('keys from the request text (memoised) are the keys from the body, per endpoint and per scope', () => {
    const text = '{"model":"m","temperature":0,"messages":[{"role":"user","content":"memo"}]}';
    const body = JSON.parse(text) as Record<string, unknown>;
    const other = { ...scope, tenant: 'key:config:b' };
    const plain = cacheKey('chat', body, scope);
    // Twice from the text (the second a memo hit), then the same text in another scope and on another endpoint.
    assert.equal(cacheKey('chat', body, scope, text), plain);
    assert.equal(cacheKey('chat', body, scope, text), plain);
    assert.equal(cacheKey('chat', body, other, text), cacheKey('chat', body, other));
    assert.equal(cacheKey('chat', body, scope, text), plain, 'back in the first scope after another scope used the text');
    assert.equal(cacheKey('completions', body, scope, text), cacheKey('completions', body, scope));
    assert.notEqual(cacheKey('completions', body, scope, text), plain);
    // Another spelling of the same request shares the key; a long text takes the full path.
    const spaced = '{ "messages": [{"content": "memo", "role": "user"}], "temperature": 0, "model": "m" }';
    assert.equal(cacheKey('chat', JSON.parse(spaced) as Record<string, unknown>, scope, spaced), plain);
    const long = JSON.stringify({ model: 'm', temperature: 0, messages: [{ role: 'user', content: 'x'.repeat(5000) }] });
    assert.equal(cacheKey('chat', JSON.parse(long) as Record<string, unknown>, scope, long), cacheKey('chat', JSON.parse(long) as Record<string, unknown>, scope));
    // More distinct texts than the memo holds: every key still right.
    for (let i = 0; i < 1100; i++) {
      const t = `{"model":"m","temperature":0,"messages":[{"role":"user","content":"q${i}"}]}`;
      const b = JSON.parse(t) as Record<string, unknown>;
      assert.equal(cacheKey('chat', b, scope, t), cacheKey('chat', b, scope));
    }
    assert.equal(cacheKey('chat', body, scope, text), plain);
  });
});

describe('memory store', () => {
  test('bounded in bytes with evictions counted; entries expire on the clock; purge by filter', async () => {
    const clock = new FakeClock();
    const store = new MemoryResponseStore(20_000, clock);
    const entry = (n: number): CacheEntry => ({ format: 'json', status: 200, body: 'x'.repeat(n), chunks: null, usage: null, freshUntil: 0 });
    await store.set('a|t|v1|1', entry(1000), 1000);
    await store.set('b|t|v1|2', entry(1000), 5000);
    assert.ok((await store.get('a|t|v1|1')) !== null);
    clock.advance(1500);
    assert.equal(await store.get('a|t|v1|1'), null);
    assert.ok((await store.get('b|t|v1|2')) !== null);
    for (let i = 0; i < 20; i++) await store.set(`c|t|v1|${i}`, entry(1000), 5000);
    const s = store.stats();
    assert.ok(s.evictions > 0);
    assert.ok(s.bytes! <= 20_000);
    assert.ok((await store.purge({ namespace: 'c' })) > 0);
    assert.equal((await store.purge({ namespace: 'c' })), 0);
  });
});

describe('flights', () => {
  test('followers tail the chunks from the first, whenever they join, and end with the flight', async () => {
    const f = new Flight(new FakeClock());
    f.start('stream');
    f.push('a');
    const early = (async () => {
      const out: string[] = [];
      for await (const c of f.tail(() => new Error('failed'))) out.push(c);
      return out;
    })();
    f.push('b');
    const entry: CacheEntry = { format: 'stream', status: 200, body: null, chunks: ['a', 'b', 'c'], usage: null, freshUntil: 0 };
    setImmediate(() => {
      f.push('c');
      f.finish(entry);
    });
    assert.deepEqual(await early, ['a', 'b', 'c']);
    assert.equal(await f.done(10, new AbortController().signal), entry);
  });

  test('a failed flight fails its tails; started() is null for a flight that never started', async () => {
    const clock = new FakeClock();
    const f = new Flight(clock);
    const signal = new AbortController().signal;
    const pending = f.started(1000, signal);
    f.fail();
    assert.equal(await pending, null);
    const g = new Flight(clock);
    g.start('stream');
    g.push('a');
    g.fail();
    await assert.rejects(async () => {
      for await (const _ of g.tail(() => new Error('cut'))) void _;
    }, /cut/);
    const late = new Flight(clock).started(20, signal);
    clock.advance(20);
    assert.equal(await late, null, 'times out');
  });
});

describe('semantic index', () => {
  const unit = (...xs: number[]) => {
    const n = Math.hypot(...xs);
    return Float32Array.from(xs.map((x) => x / n));
  };
  test('nearest above the threshold, within a bucket only; bounded, oldest out', () => {
    const idx = new SemanticIndex(2);
    idx.add('b1', unit(1, 0, 0), 'k1');
    idx.add('b1', unit(0, 1, 0), 'k2');
    assert.equal(idx.nearest('b1', unit(1, 0.1, 0), 0.9)?.key, 'k1');
    assert.equal(idx.nearest('b1', unit(1, 1, 0), 0.9), null, 'cos 0.707 is below');
    assert.equal(idx.nearest('b2', unit(1, 0, 0), 0.5), null, 'another bucket never matches');
    idx.add('b1', unit(0, 0, 1), 'k3');
    assert.equal(idx.size, 2);
    assert.equal(idx.nearest('b1', unit(1, 0, 0), 0.9), null, 'k1 was evicted first');
  });

  test('prompt text and embedding vectors are read from requests and answers', () => {
    assert.equal(promptText('chat', { messages: [{ role: 'system', content: 's' }, { role: 'user', content: [{ type: 'text', text: 'q' }] }] }), 'system: s\nuser: q');
    assert.equal(promptText('embeddings', { input: 'x' }), null);
    const v = vectorOf(JSON.stringify({ data: [{ embedding: [3, 4] }] }))!;
    assert.ok(Math.abs(v[0]! - 0.6) < 1e-6 && Math.abs(v[1]! - 0.8) < 1e-6);
    assert.equal(vectorOf('{"data":[]}'), null);
  });
});

describe('cache stage coalescing', () => {
  const policy: RouteCache = { ttlMs: 60_000, scope: 'key', anyTemperature: false, clientTtl: false, version: 1, namespace: null, staleIfErrorMs: 0, semantic: null };
  const runtime = (): CacheRuntime => ({
    store: new MemoryResponseStore(1 << 20, systemClock),
    remote: null,
    inflight: new Map(),
    clock: systemClock,
    maxEntryBytes: 1 << 20,
    waitMs: 5000,
    semanticIndexes: new Map(),
    embedder: () => () => Promise.resolve(null),
  });
  const route = compiledRoute('r', ['m']);
  const ctxFor = (i: number) => new RequestContext(`r${i}`, 'chat', { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'q' }] }, route, 0);

  test('when the leader fails, one follower leads and the rest follow it: two upstream calls, not twenty', async () => {
    const stage = new CacheStage(route, policy, runtime());
    let calls = 0;
    const next = async (ctx: RequestContext): Promise<void> => {
      const n = ++calls;
      await sleep(30);
      if (n === 1) throw new SluiceError('SLUICE_ERR_UPSTREAM_UNREACHABLE');
      ctx.response = { kind: 'json', status: 200, body: '{"ok":true}', usage: null };
    };
    const ctxs = Array.from({ length: 20 }, (_, i) => ctxFor(i));
    const outcomes = await Promise.allSettled(ctxs.map((ctx) => stage.run(ctx, next)));
    assert.equal(calls, 2);
    assert.equal(outcomes.filter((o) => o.status === 'rejected').length, 1, 'only the failed leader saw the error');
    assert.equal(ctxs.filter((c) => c.cacheResult === 'coalesced').length, 18);
  });
});
