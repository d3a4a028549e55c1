import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from '@openai/agents';
import OpenAI from 'openai';
import { z } from 'zod';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * `@openai/agents` 0.14 with its default model (the Responses API) through Sluice's
 * /v1/responses (issue 18): an agent with one function tool runs the tool and answers.
 */
describe('@openai/agents default model through /v1/responses', () => {
  let gw: TestGateway;
  const paths: string[] = [];

  before(async () => {
    // Tracing would export to OpenAI; nothing here calls the internet.
    setTracingDisabled(true);
    gw = await startGateway({ providers: { mock: { type: 'mock' } }, routes: [{ match: 'mock-*', targets: [{ provider: 'mock', model: 'mock-1' }] }] });
  });

  after(async () => {
    await gw.close();
  });

  test('an agent with one function tool: the tool runs, the run finishes with text', async () => {
    const recording: typeof fetch = (input, init) => {
      paths.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
      return fetch(input, init);
    };
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-client', maxRetries: 0, fetch: recording });
    const runner = new Runner({ modelProvider: new OpenAIProvider({ openAIClient: client, useResponses: true }) });
    const calls: unknown[] = [];
    const getWeather = tool({
      name: 'get_weather',
      description: 'Weather in a city',
      parameters: z.object({ city: z.string() }),
      execute: async (input) => {
        calls.push(input);
        return 'Sunny, 21 °C';
      },
    });
    const agent = new Agent({ name: 'Forecaster', instructions: 'Answer about the weather.', model: 'mock-1', tools: [getWeather] });
    const result = await runner.run(agent, 'What is the weather in Paris? Use get_weather.');
    assert.deepEqual(calls, [{ city: 'mock-city' }]);
    assert.equal(typeof result.finalOutput, 'string');
    assert.ok(String(result.finalOutput).length > 0);
    assert.deepEqual([...new Set(paths)], ['/v1/responses']);
    assert.equal(paths.length, 2, 'one model call for the tool call, one for the answer');
  });
});
