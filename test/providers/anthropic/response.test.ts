import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { anthropicStatusError } from '../../../src/providers/anthropic/errors.js';
import { finishReasonFromAnthropic, openAIFromAnthropicMessage, usageFromAnthropic } from '../../../src/providers/anthropic/response.js';
import { AnthropicStreamTranslator } from '../../../src/providers/anthropic/stream.js';
import { fixtureJson, fixtureText, reassemble, translateAll } from '../helpers.js';

const opts = { provider: 'claude', created: 1_700_000_000 };
const streamOpts = (includeUsage: boolean) => ({ provider: 'claude', includeUsage, created: 1_700_000_000, model: 'claude-requested' });

describe('Anthropic message → OpenAI chat.completion', () => {
  test('text blocks join into content; usage counts cache reads and writes as prompt tokens', () => {
    const c = openAIFromAnthropicMessage(fixtureJson('anthropic/message-text.json'), opts);
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.id, 'msg_01XFDUDYJgAACzvnptvVoYEL');
    assert.equal(c.created, 1_700_000_000);
    assert.equal(c.model, 'claude-sonnet-4-5-20250929');
    assert.deepEqual(c.choices, [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I help?', refusal: null }, logprobs: null, finish_reason: 'stop' }]);
    assert.deepEqual(c.usage, { prompt_tokens: 12 + 2048 + 100, completion_tokens: 9, total_tokens: 2160 + 9, prompt_tokens_details: { cached_tokens: 2048, cache_write_tokens: 100 } });
  });

  test('tool_use blocks become tool_calls with JSON-stringified arguments', () => {
    const c = openAIFromAnthropicMessage(fixtureJson('anthropic/message-tool-use.json'), opts);
    const choice = c.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, "I'll look up the weather.");
    assert.deepEqual(choice.message.tool_calls, [
      { id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' } },
    ]);
    assert.deepEqual(c.usage, { prompt_tokens: 472, completion_tokens: 89, total_tokens: 561, prompt_tokens_details: { cached_tokens: 0 } });
  });

  test('stop reasons', () => {
    const cases: [unknown, string][] = [
      ['end_turn', 'stop'],
      ['stop_sequence', 'stop'],
      ['pause_turn', 'stop'],
      ['max_tokens', 'length'],
      ['model_context_window_exceeded', 'length'],
      ['tool_use', 'tool_calls'],
      ['refusal', 'content_filter'],
      [null, 'stop'],
    ];
    for (const [anthropic, openai] of cases) assert.equal(finishReasonFromAnthropic(anthropic), openai, String(anthropic));
  });

  test('usage: absent or malformed is null; thinking tokens become reasoning_tokens', () => {
    assert.equal(usageFromAnthropic(undefined), null);
    assert.equal(usageFromAnthropic({}), null);
    assert.deepEqual(usageFromAnthropic({ input_tokens: 3, output_tokens: 10, output_tokens_details: { thinking_tokens: 6 } })?.completion_tokens_details, { reasoning_tokens: 6 });
  });

  test('an answer that is not a message is a bad response', () => {
    assert.throws(() => openAIFromAnthropicMessage({ type: 'error' }, opts), (e: unknown) => e instanceof SluiceError && e.code === 'SLUICE_ERR_UPSTREAM_BAD_RESPONSE');
  });

  test('error answers keep status (529 included), message, type and Retry-After', () => {
    const err = anthropicStatusError(529, fixtureText('anthropic/error-overloaded.json'), '3');
    assert.equal(err.code, 'SLUICE_ERR_UPSTREAM_STATUS');
    assert.equal(err.status, 529);
    assert.equal(err.message, 'Upstream 529: Overloaded');
    assert.deepEqual(err.upstream, { status: 529, code: null, type: 'overloaded_error' });
    assert.deepEqual(err.headers, { 'retry-after': '3' });
  });
});

describe('Anthropic stream events → OpenAI chunks', () => {
  test('text stream: role chunk, text deltas, finish chunk; usage from message_start + message_delta', async () => {
    const t = new AnthropicStreamTranslator(streamOpts(true));
    const { chunks, error } = await translateAll(t, fixtureText('anthropic/stream-text.sse'));
    assert.equal(error, null);
    assert.deepEqual(
      chunks.map((c) => (c.choices as { delta: unknown }[])[0]?.delta ?? 'usage'),
      [{ role: 'assistant', content: '' }, { content: 'Hello' }, { content: '!' }, {}, 'usage'],
    );
    for (const c of chunks) {
      assert.equal(c.id, 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY');
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.model, 'claude-sonnet-4-5-20250929');
      assert.equal(c.created, 1_700_000_000);
    }
    assert.equal(reassemble(chunks).finish, 'stop');
    assert.equal(chunks[0]!.usage, null, 'with include_usage every chunk says usage: null');
    const usage = { prompt_tokens: 1025, completion_tokens: 15, total_tokens: 1040, prompt_tokens_details: { cached_tokens: 1000 } };
    assert.deepEqual(chunks.at(-1), { id: chunks[0]!.id, object: 'chat.completion.chunk', created: 1_700_000_000, model: 'claude-sonnet-4-5-20250929', choices: [], usage });
    assert.deepEqual(t.usage(), { promptTokens: 1025, cachedPromptTokens: 1000, completionTokens: 15, totalTokens: 1040 });
  });

  test('without include_usage there is no usage chunk and no usage field, but usage() still counts', async () => {
    const t = new AnthropicStreamTranslator(streamOpts(false));
    const { chunks } = await translateAll(t, fixtureText('anthropic/stream-text.sse'));
    assert.equal(chunks.length, 4);
    assert.ok(chunks.every((c) => !('usage' in c)));
    assert.equal(t.usage()?.completionTokens, 15);
  });

  test('tool use: text, then each tool call opened with id and name, arguments as fragments', async () => {
    const t = new AnthropicStreamTranslator(streamOpts(false));
    const { chunks, error } = await translateAll(t, fixtureText('anthropic/stream-tool-use.sse'));
    assert.equal(error, null);
    const r = reassemble(chunks);
    assert.equal(r.text, 'Let me check');
    assert.equal(r.finish, 'tool_calls');
    assert.deepEqual(r.tools, [
      { id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', arguments: '{"location": "San Francisco, CA"}' },
      { id: 'toolu_02B', name: 'get_time', arguments: '{"tz": "PST"}' },
    ]);
    assert.deepEqual(JSON.parse(r.tools[0]!.arguments), { location: 'San Francisco, CA' });
    const first = (chunks.find((c) => JSON.stringify(c).includes('toolu_01T')) as { choices: { delta: unknown }[] }).choices[0]!.delta;
    assert.deepEqual(first, { tool_calls: [{ index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } }] });
  });

  test('an error event after content interrupts the stream, keeping the provider message and type', async () => {
    const t = new AnthropicStreamTranslator(streamOpts(false));
    const { chunks, error } = await translateAll(t, fixtureText('anthropic/stream-error-midway.sse'));
    assert.equal(reassemble(chunks).text, 'Partial');
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'SLUICE_ERR_STREAM_INTERRUPTED');
    assert.match(error.message, /overloaded_error: Overloaded/);
    assert.deepEqual(error.upstream, { status: 529, code: null, type: 'overloaded_error' });
  });

  test('an error event before any content stands for the status Anthropic would have sent (529)', async () => {
    const t = new AnthropicStreamTranslator(streamOpts(false));
    const { error } = await translateAll(t, fixtureText('anthropic/stream-error-first.sse'));
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'SLUICE_ERR_UPSTREAM_STATUS');
    assert.equal(error.status, 529);
    assert.equal(t.committed, false);
  });

  test('a stream that ends without message_stop is interrupted; partial usage stays readable', async () => {
    const t = new AnthropicStreamTranslator(streamOpts(false));
    const { chunks, error } = await translateAll(t, fixtureText('anthropic/stream-truncated.sse'));
    assert.equal(reassemble(chunks).text, 'Cut');
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'SLUICE_ERR_STREAM_INTERRUPTED');
    assert.match(error.message, /without message_stop/);
    assert.equal(t.usage()?.promptTokens, 10);
  });

  test('unknown event types and thinking deltas are ignored; malformed data is a bad response', async () => {
    const t = new AnthropicStreamTranslator(streamOpts(false));
    const text = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1,"output_tokens":1}}}',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}',
      'event: brand_new_event\ndata: {"type":"brand_new_event"}',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":3}}',
      'event: message_stop\ndata: {"type":"message_stop"}',
      '',
    ].join('\n\n');
    const { chunks, error } = await translateAll(t, text);
    assert.equal(error, null);
    assert.equal(chunks.length, 2);
    assert.equal(reassemble(chunks).finish, 'length');
    const bad = await translateAll(new AnthropicStreamTranslator(streamOpts(false)), 'event: message_start\ndata: not json\n\n');
    assert.ok(bad.error instanceof SluiceError && bad.error.code === 'SLUICE_ERR_UPSTREAM_BAD_RESPONSE');
  });
});
