/**
 * Issue 18: the built-in mock behaves like a model for structured output, through the
 * clients people use, against the default config (no providers, no routes: the in-process
 * mock answers every model).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { generateObject, streamObject } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { z } from 'zod';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

const Address = z.object({ street: z.string(), city: z.string(), zip: z.string().nullable() });
const Person = z.object({
  name: z.string(),
  age: z.number().int(),
  role: z.enum(['admin', 'editor', 'viewer']),
  tags: z.array(z.string()).min(2),
  address: Address,
  previous: z.array(Address),
  verified: z.boolean(),
  kind: z.literal('person'),
});

describe('structured output from the built-in mock (default config)', () => {
  let gw: TestGateway;
  let client: OpenAI;
  before(async () => {
    gw = await startGateway({});
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    await gw?.close();
  });

  test('openai SDK: chat.completions.parse() with zodResponseFormat returns a parsed object', async () => {
    const res = await client.chat.completions.parse({
      model: 'mock-1',
      messages: [{ role: 'user', content: 'Describe a person.' }],
      response_format: zodResponseFormat(Person, 'person'),
    });
    const parsed = res.choices[0]?.message.parsed;
    assert.ok(parsed !== null && parsed !== undefined, res.choices[0]?.message.content ?? 'no content');
    assert.equal(parsed.kind, 'person');
    assert.equal(parsed.role, 'admin', 'an enum gives its first value');
    assert.ok(parsed.tags.length >= 2, 'minItems is honoured');
    assert.equal(typeof parsed.address.city, 'string');
    assert.deepEqual(Person.parse(parsed), parsed);
    // Deterministic: the same request gets the same object.
    const again = await client.chat.completions.parse({ model: 'mock-1', messages: [{ role: 'user', content: 'Describe a person.' }], response_format: zodResponseFormat(Person, 'person') });
    assert.deepEqual(again.choices[0]?.message.parsed, parsed);
  });

  test('openai SDK: a streamed structured answer reassembles to the same JSON', async () => {
    const body = { model: 'mock-1', messages: [{ role: 'user' as const, content: 'Describe a person.' }], response_format: zodResponseFormat(Person, 'person') };
    const json = await client.chat.completions.create(body);
    let text = '';
    for await (const chunk of await client.chat.completions.create({ ...body, stream: true })) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, json.choices[0]?.message.content);
    Person.parse(JSON.parse(text));
  });

  test('response_format json_object answers a JSON object text', async () => {
    const res = await client.chat.completions.create({ model: 'mock-1', messages: [{ role: 'user', content: 'JSON please' }], response_format: { type: 'json_object' } });
    const value: unknown = JSON.parse(res.choices[0]?.message.content ?? '');
    assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value));
  });

  test('the AI SDK: generateObject and streamObject with @ai-sdk/openai .chat("mock-1") and a zod schema', async () => {
    const openai = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'x' });
    const { object } = await generateObject({ model: openai.chat('mock-1'), schema: Person, prompt: 'Describe a person.' });
    assert.equal(object.kind, 'person');
    assert.deepEqual(Person.parse(object), object);
    const streamed = streamObject({ model: openai.chat('mock-1'), schema: Person, prompt: 'Describe a person.' });
    // The result's promises settle as the stream is read.
    let partials = 0;
    for await (const _partial of streamed.partialObjectStream) partials++;
    assert.ok(partials > 1, 'the object arrives in parts');
    assert.deepEqual(await streamed.object, object);
  });

  test('n=3 answers three choices, streamed or not; usage counts every choice', async () => {
    const messages = [{ role: 'user' as const, content: 'Three ways' }];
    const res = await client.chat.completions.create({ model: 'mock-1', messages, n: 3 });
    assert.deepEqual(res.choices.map((c) => c.index), [0, 1, 2]);
    const texts = res.choices.map((c) => c.message.content ?? '');
    assert.equal(new Set(texts).size, 3, 'the choices differ');
    const words = texts.reduce((n, t) => n + t.split(' ').length, 0);
    assert.equal(res.usage?.completion_tokens, words);
    const streamed = ['', '', ''];
    for await (const chunk of await client.chat.completions.create({ model: 'mock-1', messages, n: 3, stream: true })) {
      for (const c of chunk.choices) streamed[c.index] += c.delta.content ?? '';
    }
    assert.deepEqual(streamed, texts);
    // One choice stays what it always was.
    const one = await client.chat.completions.create({ model: 'mock-1', messages });
    assert.equal(one.choices[0]?.message.content, texts[0]);
  });

  test('logprobs and top_logprobs: one entry per token of the content, in JSON and in the stream', async () => {
    const messages = [{ role: 'user' as const, content: 'How likely?' }];
    const res = await client.chat.completions.create({ model: 'mock-1', messages, logprobs: true, top_logprobs: 3 });
    const choice = res.choices[0]!;
    const content = choice.logprobs?.content ?? [];
    assert.ok(content.length > 0);
    assert.equal(content.map((t) => t.token).join(''), choice.message.content);
    for (const t of content) {
      assert.ok(t.logprob <= 0);
      assert.equal(t.top_logprobs.length, 3);
      assert.equal(t.top_logprobs[0]?.token, t.token);
      assert.deepEqual(t.bytes, [...Buffer.from(t.token)]);
    }
    const streamed: string[] = [];
    for await (const chunk of await client.chat.completions.create({ model: 'mock-1', messages, logprobs: true, top_logprobs: 3, stream: true })) {
      for (const t of chunk.choices[0]?.logprobs?.content ?? []) streamed.push(t.token);
    }
    assert.deepEqual(streamed, content.map((t) => t.token));
    const plain = await client.chat.completions.create({ model: 'mock-1', messages });
    assert.equal(plain.choices[0]?.logprobs, null);
  });

  test('audio is refused with a 400 and its catalog code, not answered with text', async () => {
    const asks: Record<string, unknown>[] = [
      { modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } },
      { audio: { voice: 'alloy', format: 'wav' } },
      { messages: [{ role: 'user', content: [{ type: 'text', text: 'What is said?' }, { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }] }] },
    ];
    for (const ask of asks) {
      const body = { model: 'mock-1', messages: [{ role: 'user', content: 'Say hi' }], ...ask };
      await assert.rejects(client.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming), (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.equal(err.status, 400);
        assert.equal(err.code, 'SLUICE_ERR_UNSUPPORTED_MODALITY');
        assert.match(err.message, /text only/);
        return true;
      });
    }
    const streamed = await req.sendJson(gw, req.CHAT_PATH, { body: { model: 'mock-1', stream: true, messages: [{ role: 'user', content: 'hi' }], modalities: ['audio'] } });
    assert.equal(streamed.status, 400);
    assert.equal(streamed.json.error?.param, 'modalities');
    const badN = await req.sendJson(gw, req.CHAT_PATH, { body: { model: 'mock-1', n: 1000, messages: [{ role: 'user', content: 'hi' }] } });
    assert.deepEqual([badN.status, badN.json.error?.code, badN.json.error?.param], [400, 'SLUICE_ERR_INVALID_REQUEST', 'n']);
  });
});
