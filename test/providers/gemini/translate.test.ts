import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../../src/errors.js';
import { geminiEmbedRequestFromOpenAI, openAIEmbeddingsFromGemini } from '../../../src/providers/gemini/embeddings.js';
import { geminiStatusError } from '../../../src/providers/gemini/errors.js';
import { geminiModelId, geminiRequestFromOpenAI } from '../../../src/providers/gemini/request.js';
import { finishReasonFromGemini, openAIFromGeminiResponse } from '../../../src/providers/gemini/response.js';
import { GeminiStreamTranslator } from '../../../src/providers/gemini/stream.js';
import type { JsonObject } from '../../../src/providers/types.js';
import { fixtureJson, fixtureText, reassemble, translateAll } from '../helpers.js';

const translate = (body: JsonObject): JsonObject => geminiRequestFromOpenAI({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }], ...body }, 'gem');
const responseOpts = { provider: 'gem', created: 1_700_000_000, model: 'gemini-requested', fallbackId: 'fallback' };

function isError(code: string, status: number, param?: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof SluiceError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.status, status);
    if (param !== undefined) assert.equal(e.param, param);
    return true;
  };
}

describe('OpenAI chat → Gemini generateContent request', () => {
  test('system instruction, roles, merging, images, audio, generation config', () => {
    const out = translate({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'one' },
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
            { type: 'image_url', image_url: { url: 'https://example.com/a.png?x=1' } },
            { type: 'image_url', image_url: { url: 'https://example.com/noext' } },
            { type: 'input_audio', input_audio: { data: 'UklGR', format: 'mp3' } },
          ],
        },
        { role: 'assistant', content: 'two' },
      ],
      max_completion_tokens: 100,
      temperature: 1.4,
      top_p: 0.8,
      stop: ['END'],
      n: 2,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      seed: 9,
      top_k: 40,
      user: 'u',
      parallel_tool_calls: false,
    });
    assert.deepEqual(out.systemInstruction, { parts: [{ text: 'Be brief.' }] });
    assert.deepEqual(out.contents, [
      {
        role: 'user',
        parts: [
          { text: 'one' },
          { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQ' } },
          { fileData: { mimeType: 'image/png', fileUri: 'https://example.com/a.png?x=1' } },
          { fileData: { fileUri: 'https://example.com/noext' } },
          { inlineData: { mimeType: 'audio/mp3', data: 'UklGR' } },
        ],
      },
      { role: 'model', parts: [{ text: 'two' }] },
    ]);
    assert.deepEqual(out.generationConfig, { maxOutputTokens: 100, temperature: 1.4, topP: 0.8, topK: 40, stopSequences: ['END'], candidateCount: 2, presencePenalty: 0.5, frequencyPenalty: 0.25, seed: 9 });
    for (const key of ['model', 'messages', 'user', 'parallel_tool_calls', 'n', 'top_k']) assert.ok(!(key in out), key);
  });

  test('tools as function declarations with JSON Schema; every tool_choice form', () => {
    const parameters = { type: 'object', properties: { q: { type: 'string' } }, required: ['q'], additionalProperties: false };
    const tools = [{ type: 'function', function: { name: 'search', description: 'Search', parameters } }, { type: 'function', function: { name: 'now' } }];
    const out = translate({ tools });
    assert.deepEqual(out.tools, [{ functionDeclarations: [{ name: 'search', description: 'Search', parametersJsonSchema: parameters }, { name: 'now' }] }]);
    assert.equal(out.toolConfig, undefined);
    assert.deepEqual(translate({ tools, tool_choice: 'none' }).toolConfig, { functionCallingConfig: { mode: 'NONE' } });
    assert.deepEqual(translate({ tools, tool_choice: 'auto' }).toolConfig, { functionCallingConfig: { mode: 'AUTO' } });
    assert.deepEqual(translate({ tools, tool_choice: 'required' }).toolConfig, { functionCallingConfig: { mode: 'ANY' } });
    assert.deepEqual(translate({ tools, tool_choice: { type: 'function', function: { name: 'now' } } }).toolConfig, { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['now'] } });
  });

  test('tool calls and results: functionCall parts, and functionResponse named after the call', () => {
    const out = translate({
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
        { role: 'tool', tool_call_id: 'call_1', content: 'plain text' },
      ],
    });
    assert.deepEqual(out.contents, [
      { role: 'user', parts: [{ text: 'Weather?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Rome' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temp: 21 } } }, { functionResponse: { name: 'get_weather', response: { content: 'plain text' } } }] },
    ]);
    assert.throws(() => translate({ messages: [{ role: 'tool', tool_call_id: 'nope', content: 'x' }] }), isError('SLUICE_ERR_INVALID_REQUEST', 400, 'messages[0].tool_call_id'));
  });

  test('response_format: json_object and json_schema', () => {
    assert.deepEqual(translate({ response_format: { type: 'json_object' } }).generationConfig, { responseMimeType: 'application/json' });
    const schema = { type: 'object', properties: {} };
    assert.deepEqual(translate({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }).generationConfig, { responseMimeType: 'application/json', responseJsonSchema: schema });
  });

  test('parameters Gemini cannot honour are 400s naming them', () => {
    const cases: [JsonObject, string][] = [
      [{ logprobs: true }, 'logprobs'],
      [{ top_logprobs: 1 }, 'top_logprobs'],
      [{ logit_bias: { 1: 2 } }, 'logit_bias'],
      [{ reasoning_effort: 'high' }, 'reasoning_effort'],
      [{ modalities: ['audio'] }, 'modalities'],
      [{ function_call: 'auto' }, 'function_call'],
      [{ tools: [{ type: 'custom' }] }, 'tools[0].type'],
      [{ messages: [{ role: 'user', content: [{ type: 'refusal' }] }] }, 'messages[0].content[0].type'],
    ];
    for (const [body, param] of cases) assert.throws(() => translate(body), isError('SLUICE_ERR_INVALID_REQUEST', 400, param), param);
  });

  test('model ids are path segments; models/ is stripped', () => {
    assert.equal(geminiModelId('models/gemini-2.5-pro'), 'gemini-2.5-pro');
    assert.equal(geminiModelId('a/b'), 'a%2Fb');
  });
});

describe('Gemini response → OpenAI chat.completion', () => {
  test('text parts join; thinking tokens count as completion (reasoning) tokens; cached tokens kept', () => {
    const c = openAIFromGeminiResponse(fixtureJson('gemini/response-text.json'), responseOpts);
    assert.equal(c.id, 'resp-abc');
    assert.equal(c.model, 'gemini-2.5-flash');
    assert.deepEqual(c.choices, [{ index: 0, message: { role: 'assistant', content: 'The sky is blue because of Rayleigh scattering.', refusal: null }, logprobs: null, finish_reason: 'stop' }]);
    assert.deepEqual(c.usage, { prompt_tokens: 8, completion_tokens: 42, total_tokens: 50, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 30 } });
  });

  test('function calls become tool_calls with ids and finish_reason tool_calls', () => {
    const c = openAIFromGeminiResponse(fixtureJson('gemini/response-function-call.json'), responseOpts);
    const choice = c.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, null);
    assert.deepEqual(choice.message.tool_calls, [
      { id: 'call_resp-fc_0_0', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Boston, MA"}' } },
      { id: 'call_resp-fc_0_1', type: 'function', function: { name: 'get_time', arguments: '{"tz":"EST"}' } },
    ]);
  });

  test('a blocked prompt and an answer withheld by a safety filter are content-blocked errors', () => {
    for (const f of ['gemini/response-prompt-blocked.json', 'gemini/response-safety-finish.json']) {
      assert.throws(() => openAIFromGeminiResponse(fixtureJson(f), responseOpts), (e: unknown) => {
        assert.ok(e instanceof SluiceError);
        assert.equal(e.status, 400);
        assert.match(e.message, /blocked the content \(SAFETY\)/);
        assert.equal(e.upstream?.code, 'SAFETY');
        return true;
      });
    }
  });

  test('finish reasons', () => {
    assert.equal(finishReasonFromGemini('STOP', false, 'g'), 'stop');
    assert.equal(finishReasonFromGemini('STOP', true, 'g'), 'tool_calls');
    assert.equal(finishReasonFromGemini('MAX_TOKENS', false, 'g'), 'length');
    for (const r of ['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII']) assert.equal(finishReasonFromGemini(r, false, 'g'), 'content_filter');
    assert.equal(finishReasonFromGemini('OTHER', false, 'g'), 'stop');
    assert.throws(() => finishReasonFromGemini('MALFORMED_FUNCTION_CALL', false, 'g'), isError('SLUICE_ERR_UPSTREAM_BAD_RESPONSE', 502));
  });

  test('error answers keep the status and Google status name', () => {
    const err = geminiStatusError(429, fixtureText('gemini/error-429.json'), null);
    assert.equal(err.status, 429);
    assert.match(err.message, /Resource has been exhausted/);
    assert.deepEqual(err.upstream, { status: 429, code: 'RESOURCE_EXHAUSTED', type: null });
  });
});

describe('Gemini stream → OpenAI chunks', () => {
  test('text slices become deltas; the last carries the finish; usage from the last usageMetadata', async () => {
    const t = new GeminiStreamTranslator({ ...responseOpts, includeUsage: true });
    const { chunks, error } = await translateAll(t, fixtureText('gemini/stream-text.sse'));
    assert.equal(error, null);
    const r = reassemble(chunks);
    assert.equal(r.text, 'The sky is blue.');
    assert.equal(r.finish, 'stop');
    assert.equal(chunks[0]!.id, 'stream-1');
    assert.deepEqual((chunks[0]!.choices as JsonObject[])[0]!.delta, { role: 'assistant', content: '' });
    assert.deepEqual(chunks.at(-1)?.usage, { prompt_tokens: 8, completion_tokens: 5, total_tokens: 13, prompt_tokens_details: { cached_tokens: 0 } });
    assert.deepEqual(t.usage(), { promptTokens: 8, cachedPromptTokens: 0, completionTokens: 5, totalTokens: 13 });
  });

  test('a function call arrives whole as one tool_calls delta', async () => {
    const { chunks } = await translateAll(new GeminiStreamTranslator({ ...responseOpts, includeUsage: false }), fixtureText('gemini/stream-function-call.sse'));
    const r = reassemble(chunks);
    assert.equal(r.finish, 'tool_calls');
    assert.deepEqual(r.tools, [{ id: 'call_stream-fc_0_0', name: 'get_weather', arguments: '{"location":"Boston, MA"}' }]);
  });

  test('a stream that ends before its finishReason is interrupted; an error object mid-stream too', async () => {
    const cut = await translateAll(new GeminiStreamTranslator({ ...responseOpts, includeUsage: false }), fixtureText('gemini/stream-truncated.sse'));
    assert.equal(reassemble(cut.chunks).text, 'Half');
    assert.ok(cut.error instanceof SluiceError && cut.error.code === 'SLUICE_ERR_STREAM_INTERRUPTED');
    const err = await translateAll(new GeminiStreamTranslator({ ...responseOpts, includeUsage: false }), fixtureText('gemini/stream-error-midway.sse'));
    assert.ok(err.error instanceof SluiceError && err.error.code === 'SLUICE_ERR_STREAM_INTERRUPTED');
    assert.match(err.error.message, /overloaded/);
    assert.deepEqual(err.error.upstream, { status: 503, code: 'UNAVAILABLE', type: null });
  });

  test('a blocked prompt as the first event is a content-blocked error before commit', async () => {
    const t = new GeminiStreamTranslator({ ...responseOpts, includeUsage: false });
    const { error } = await translateAll(t, `data: ${JSON.stringify(fixtureJson('gemini/response-prompt-blocked.json'))}\n\n`);
    assert.ok(error instanceof SluiceError && error.status === 400);
    assert.equal(t.committed, false);
  });
});

describe('Gemini embeddings', () => {
  test('batchEmbedContents request and OpenAI list (float and base64), usage estimated', () => {
    const body = { model: 'text-embedding-004', input: ['abcd', 'efgh'], dimensions: 3 };
    assert.deepEqual(geminiEmbedRequestFromOpenAI(body, 'text-embedding-004', 'gem'), {
      requests: [
        { model: 'models/text-embedding-004', content: { parts: [{ text: 'abcd' }] }, outputDimensionality: 3 },
        { model: 'models/text-embedding-004', content: { parts: [{ text: 'efgh' }] }, outputDimensionality: 3 },
      ],
    });
    const resp = { embeddings: [{ values: [0.5, -0.25, 1] }, { values: [0, 0, 1] }] };
    const list = openAIEmbeddingsFromGemini(resp, body, 'gem');
    assert.deepEqual(list.data[0], { object: 'embedding', index: 0, embedding: [0.5, -0.25, 1] });
    assert.deepEqual(list.usage, { prompt_tokens: 2, total_tokens: 2 });
    const b64 = openAIEmbeddingsFromGemini(resp, { ...body, encoding_format: 'base64' }, 'gem');
    const buf = Buffer.from(b64.data[0]!.embedding as string, 'base64');
    assert.deepEqual([buf.readFloatLE(0), buf.readFloatLE(4), buf.readFloatLE(8)], [0.5, -0.25, 1]);
    assert.throws(() => geminiEmbedRequestFromOpenAI({ model: 'e', input: [[1, 2]] }, 'e', 'gem'), isError('SLUICE_ERR_INVALID_REQUEST', 400, 'input'));
    assert.throws(() => openAIEmbeddingsFromGemini({ embeddings: [] }, body, 'gem'), isError('SLUICE_ERR_UPSTREAM_BAD_RESPONSE', 502));
  });
});
