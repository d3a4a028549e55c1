import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../src/errors.js';
import { Cancellation } from '../../src/lib/cancel.js';
import { FakeClock } from '../../src/lib/clock.js';
import type { JsonObject, ProviderAdapter, ProviderCall, ProviderResponse } from '../../src/providers/types.js';
import { EmbeddingBatcher, inputsOf, proportionalShares } from '../../src/routing/embeddings-batcher.js';

/** An embeddings upstream in-process: one vector per input (its length), usage = characters. */
class FakeEmbedder implements ProviderAdapter {
  readonly name = 'fake';
  readonly type = 'fake';
  readonly calls: ProviderCall[] = [];
  fail: SluiceError | null = null;
  #pending: (() => void)[] = [];
  held = false;

  async send(call: ProviderCall): Promise<ProviderResponse> {
    this.calls.push(call);
    if (this.held) await new Promise<void>((r) => this.#pending.push(r));
    if (this.fail !== null) throw this.fail;
    const inputs = inputsOf(call.body.input)!;
    const chars = inputs.reduce<number>((n, i) => n + String(i).length, 0);
    const body = { object: 'list', data: inputs.map((i, index) => ({ object: 'embedding', index, embedding: [String(i).length, index] })), model: 'up-model', usage: { prompt_tokens: chars, total_tokens: chars } };
    return { kind: 'json', status: 200, body: JSON.stringify(body), usage: { promptTokens: chars, cachedPromptTokens: 0, completionTokens: 0, totalTokens: chars } };
  }

  release(): void {
    this.held = false;
    for (const r of this.#pending.splice(0)) r();
  }

  async close(): Promise<void> {}
}

function call(input: unknown, extra: JsonObject = {}, signal = new Cancellation()): ProviderCall {
  return { endpoint: 'embeddings', body: { model: 'm', input, ...extra }, bodyText: null, stream: false, includeUsage: false, signal, requestId: 'r', timeouts: null };
}

const json = (r: ProviderResponse): { data: { index: number; embedding: number[] }[]; model: string; usage: { prompt_tokens: number; total_tokens: number } } => {
  assert.equal(r.kind, 'json');
  return JSON.parse(r.kind === 'json' ? r.body : '') as never;
};

const policy = { windowMs: 5, maxInputs: 8, maxBytes: 1 << 20 };

describe('EmbeddingBatcher', () => {
  test('calls within the window become one upstream call; each answer has its own indices from 0 and its share of the usage', async () => {
    const clock = new FakeClock();
    const up = new FakeEmbedder();
    const b = new EmbeddingBatcher(up, policy, clock);
    const answers = [b.send(call('aaaa')), b.send(call(['bbbbbbbb', 'cc'])), b.send(call('dddd'))];
    assert.equal(up.calls.length, 0, 'nothing is sent before the window ends');
    clock.advance(5);
    const [a, bc, d] = (await Promise.all(answers)).map(json);
    assert.equal(up.calls.length, 1);
    assert.deepEqual(up.calls[0]!.body.input, ['aaaa', 'bbbbbbbb', 'cc', 'dddd']);
    assert.deepEqual(a!.data, [{ object: 'embedding', index: 0, embedding: [4, 0] }]);
    assert.deepEqual(
      bc!.data.map((e) => [e.index, e.embedding]),
      [
        [0, [8, 1]],
        [1, [2, 2]],
      ],
    );
    assert.deepEqual(d!.data.map((e) => [e.index, e.embedding]), [[0, [4, 3]]]);
    // 18 tokens reported, split by estimated tokens (1, 2+1, 1 → 18·1/5, 18·3/5, 18·1/5 → 3.6, 10.8, 3.6).
    assert.deepEqual([a!.usage.prompt_tokens, bc!.usage.prompt_tokens, d!.usage.prompt_tokens], [4, 11, 3]);
    assert.equal(a!.model, 'up-model');
    assert.deepEqual([b.requests, b.calls, b.waitedMs], [3, 1, 15]);
  });

  test('a batch that reaches maxInputs is sent at once; the next call opens a new one', async () => {
    const clock = new FakeClock();
    const up = new FakeEmbedder();
    const b = new EmbeddingBatcher(up, { ...policy, maxInputs: 4 }, clock);
    const first = [b.send(call(['a', 'b'])), b.send(call(['c', 'd']))];
    assert.equal(up.calls.length, 1, 'full: sent without waiting for the window');
    await Promise.all(first);
    const late = b.send(call(['e', 'f', 'g']));
    const over = b.send(call(['h', 'i']));
    assert.equal(up.calls.length, 2, 'it would not fit: the open batch goes first');
    clock.advance(5);
    await Promise.all([late, over]);
    assert.equal(up.calls.length, 3);
    assert.equal((await b.send(call(['1', '2', '3', '4']))).kind, 'json');
    assert.equal(up.calls.length, 4, 'a call as large as the limit goes alone, at once');
  });

  test("the provider's own input limit bounds a batch when it is below the route's maxInputs", async () => {
    const clock = new FakeClock();
    const up = Object.assign(new FakeEmbedder(), { maxEmbeddingInputs: 3 });
    const b = new EmbeddingBatcher(up, policy, clock);
    const answers = [b.send(call(['a', 'b'])), b.send(call('c')), b.send(call('d'))];
    assert.equal(up.calls.length, 1, 'three inputs fill the batch: sent at once');
    assert.deepEqual(up.calls[0]!.body.input, ['a', 'b', 'c']);
    clock.advance(5);
    await Promise.all(answers);
    assert.deepEqual(up.calls[1]!.body.input, 'd');
  });

  test('calls with different parameters are not combined; a lone call goes as it came', async () => {
    const clock = new FakeClock();
    const up = new FakeEmbedder();
    const b = new EmbeddingBatcher(up, policy, clock);
    const plain = call('x');
    const answers = [b.send(plain), b.send(call('y', { dimensions: 3 }))];
    clock.advance(5);
    await Promise.all(answers);
    assert.equal(up.calls.length, 2);
    assert.equal(up.calls[0], plain, 'its own call object: body text and cancellation unchanged');
  });

  test('a failed batch call answers every member with the same error', async () => {
    const clock = new FakeClock();
    const up = new FakeEmbedder();
    up.fail = new SluiceError('SLUICE_ERR_UPSTREAM_STATUS', { status: 500, message: 'down' });
    const b = new EmbeddingBatcher(up, policy, clock);
    const answers = [b.send(call('a')), b.send(call('b'))];
    clock.advance(5);
    const results = await Promise.allSettled(answers);
    assert.deepEqual(
      results.map((r) => (r.status === 'rejected' ? (r.reason as SluiceError).status : 0)),
      [500, 500],
    );
    assert.equal(up.calls.length, 1);
  });

  test('a client leaving before the batch is sent is dropped from it; one leaving after cancels nothing', async () => {
    const clock = new FakeClock();
    const up = new FakeEmbedder();
    const b = new EmbeddingBatcher(up, policy, clock);
    const gone = new Cancellation();
    const leaving = b.send(call('gone', {}, gone));
    const stays = [b.send(call('one')), b.send(call('two'))];
    gone.abort(new Error('client gone'));
    await assert.rejects(leaving, /client gone/);
    up.held = true;
    const later = new Cancellation();
    const afterSend = [b.send(call('three', {}, later)), b.send(call('four'))];
    clock.advance(5);
    assert.deepEqual(up.calls[0]!.body.input, ['one', 'two', 'three', 'four']);
    later.abort(new Error('left after'));
    up.release();
    await Promise.all([...stays, ...afterSend]);
    assert.equal(up.calls.length, 1);
    assert.equal(up.calls[0]!.signal.aborted, false, 'the batch call has its own cancellation');
  });

  test('inputs that cannot be combined go alone: token arrays are one input, odd shapes pass through', () => {
    assert.deepEqual(inputsOf('a'), ['a']);
    assert.deepEqual(inputsOf([1, 2, 3]), [[1, 2, 3]]);
    assert.deepEqual(inputsOf([[1], [2, 3]]), [[1], [2, 3]]);
    assert.equal(inputsOf([]), null);
    assert.equal(inputsOf([{ text: 'a' }]), null);
    assert.equal(inputsOf(7), null);
  });

  test('proportional shares are whole and add up to the total', () => {
    assert.deepEqual(proportionalShares(18, [1, 3, 1]), [4, 11, 3]);
    assert.deepEqual(proportionalShares(10, [1, 1, 1]), [4, 3, 3]);
    assert.deepEqual(proportionalShares(0, [5, 5]), [0, 0]);
    assert.deepEqual(proportionalShares(7, [0, 0]), [7, 0]);
    for (const total of [1, 99, 1000]) assert.equal(proportionalShares(total, [3, 7, 11, 13]).reduce((a, b) => a + b, 0), total);
  });
});
