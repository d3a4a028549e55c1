/**
 * The example configs in docs/providers.md for OpenAI-compatible providers are loaded as
 * written and used: each must validate, compile to an `openai` provider with the documented
 * base URL, and produce the documented request (path, Authorization, model) against a local
 * upstream standing in for the provider.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { compileConfig, type OpenAIProviderRuntime } from '../../../src/config/compile.js';
import { parseConfigText } from '../../../src/config/load.js';
import { OpenAIAdapter } from '../../../src/providers/openai/adapter.js';
import { UpstreamPools } from '../../../src/upstream/pools.js';
import { asJson, call, scriptedUpstream } from '../helpers.js';

const doc = readFileSync(new URL('../../../../docs/providers.md', import.meta.url), 'utf8');

/** The first yaml block under each `### Name` heading of the OpenAI-compatible section. */
function examples(): Map<string, string> {
  const section = doc.slice(doc.indexOf('## OpenAI-compatible providers'), doc.indexOf('## The Anthropic surface'));
  const out = new Map<string, string>();
  for (const part of section.split(/^### /m).slice(1)) {
    const name = part.slice(0, part.indexOf('\n')).trim();
    const yaml = /```yaml\n([\s\S]*?)```/.exec(part)?.[1];
    if (yaml !== undefined) out.set(name, yaml);
  }
  return out;
}

const expected: Record<string, { baseUrl: string; key: string | null; model: string; sent: string }> = {
  Groq: { baseUrl: 'https://api.groq.com/openai/v1', key: 'GROQ_API_KEY', model: 'llama-3.1-8b', sent: 'llama-3.3-70b-versatile' },
  Together: { baseUrl: 'https://api.together.xyz/v1', key: 'TOGETHER_API_KEY', model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo', sent: 'meta-llama/Llama-3.3-70B-Instruct-Turbo' },
  Mistral: { baseUrl: 'https://api.mistral.ai/v1', key: 'MISTRAL_API_KEY', model: 'mistral-large-latest', sent: 'mistral-large-latest' },
  DeepSeek: { baseUrl: 'https://api.deepseek.com/v1', key: 'DEEPSEEK_API_KEY', model: 'deepseek-chat', sent: 'deepseek-chat' },
  vLLM: { baseUrl: 'http://127.0.0.1:8000/v1', key: 'VLLM_API_KEY', model: 'local/qwen', sent: 'Qwen/Qwen2.5-7B-Instruct' },
  Ollama: { baseUrl: 'http://127.0.0.1:11434/v1', key: null, model: 'llama3.2', sent: 'llama3.2' },
};

describe('docs/providers.md: OpenAI-compatible example configs', () => {
  test('there is one example per documented provider', () => {
    assert.deepEqual([...examples().keys()].sort(), Object.keys(expected).sort());
  });

  for (const [name, yaml] of examples()) {
    test(`${name}: validates, compiles, and sends the documented request`, async () => {
      const want = expected[name]!;
      const env = want.key === null ? {} : { [want.key]: `secret-${name}` };
      const runtime = compileConfig(parseConfigText(yaml, `providers.md#${name}`, env), 'doc');
      const providers = Object.values(runtime.providers).filter((p) => p.type === 'openai') as OpenAIProviderRuntime[];
      assert.equal(providers.length, 1);
      const provider = providers[0]!;
      const url = new URL(want.baseUrl);
      assert.equal(provider.origin, url.origin);
      assert.equal(provider.basePath, url.pathname);
      const route = runtime.routes.find((r) => r.targets[0]?.provider === provider.name);
      assert.ok(route !== undefined, 'a route uses the provider');
      const sentModel = route.targets[0]!.model ?? want.model;
      assert.equal(sentModel, want.sent);

      const answer = JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: sentModel, choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
      const up = await scriptedUpstream(200, { 'content-type': 'application/json' }, answer);
      const pools = new UpstreamPools();
      try {
        const adapter = new OpenAIAdapter({ ...provider, origin: up.origin }, pools);
        const r = await adapter.send(call({ body: { model: sentModel, messages: [{ role: 'user', content: 'hi' }] } }));
        assert.equal(asJson(r).model, sentModel);
        const req = up.requests[0]!;
        assert.equal(req.url, `${url.pathname}/chat/completions`);
        assert.equal(req.headers.authorization, want.key === null ? undefined : `Bearer secret-${name}`);
        assert.equal((JSON.parse(req.body) as { model: string }).model, sentModel);
      } finally {
        await pools.close();
        await up.close();
      }
    });
  }
});
