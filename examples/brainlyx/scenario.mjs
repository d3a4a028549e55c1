// Brainlyx (seed 002) on Sluice: the checks of issue 22 for this design.
import { createOpenAI } from '@ai-sdk/openai';
import { streamText } from 'ai';
import { defaultMockOptions } from '../../dist/src/mock/options.js';
import { startMockServer } from '../../dist/src/mock/server.js';
import { bench, call, configFile, eventually, metric, startHeldProvider, startPrometheus, startSluice } from '../lib.mjs';

export const title = 'brainlyx (seed 002): one router over four providers';

const ADMIN = 'brainlyx-ops-token-0123456789abcdef';
const ALICE = 'sk-brainlyx-alice-0123456789abcdef';
const BOB = 'sk-brainlyx-bob-0123456789abcdefgh';
const CAROL = 'sk-brainlyx-carol-0123456789abcdef';
const LOAD = 'sk-brainlyx-load-0123456789abcdefg';

export async function run({ full, checks }) {
  // Every provider shape from the built-in mock (OpenAI, Anthropic Messages, Gemini); a second one fails every call.
  const mock = await startMockServer({ port: 0, options: defaultMockOptions });
  const flaky = await startMockServer({ port: 0, options: { ...defaultMockOptions, status: 503 } });
  const capacity = await startHeldProvider();
  const file = configFile('brainlyx');
  const env = { SLUICE_ADMIN_TOKEN: ADMIN, ALICE_KEY: ALICE, BOB_KEY: BOB, CAROL_KEY: CAROL, LOAD_KEY: LOAD, MOCK_URL: mock.url, MOCK_ORIGIN: new URL(mock.url).origin, FLAKY_URL: flaky.url, BUSY_URL: capacity.url, OPENAI_API_KEY: 'sk-openai-up', ANTHROPIC_API_KEY: 'sk-ant-up', GEMINI_API_KEY: 'AIza-up', GROQ_API_KEY: 'gsk-up' };
  const sluice = await startSluice(file, env);
  try {
    const base = sluice.url;
    const chat = (model, key = BOB, headers = {}) => call(`${base}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, ...headers }, body: { model, messages: [{ role: 'user', content: 'Explain photosynthesis in one line.' }] } });
    const served = async () => {
      const text = (await call(`${base}/metrics`)).text;
      const out = {};
      for (const line of text.split('\n')) {
        const m = /^sluice_requests_total\{[^}]*route="([^"]*)"[^}]*provider="([^"]*)"[^}]*\} (\d+)/.exec(line);
        if (m !== null) out[`${m[1]}/${m[2]}`] = (out[`${m[1]}/${m[2]}`] ?? 0) + Number(m[3]);
      }
      return out;
    };

    // Round robin over the four provider shapes: 8 requests, 2 each, all answered in OpenAI's shape.
    const rr = await Promise.all(Array.from({ length: 8 }, () => chat('chat-round-robin')));
    const after = await served();
    const perProvider = ['openai', 'anthropic', 'gemini', 'groq'].map((p) => after[`chat-round-robin/${p}`] ?? 0);
    checks.add('round robin over OpenAI, Anthropic, Gemini and Groq shapes', rr.every((r) => r.status === 200 && r.json?.object === 'chat.completion') && perProvider.every((n) => n === 2), `per provider ${perProvider.join(' / ')}`, '2 / 2 / 2 / 2');

    // Geographic: the client's region header picks the target in its region.
    const eu = await chat('chat-nearest', BOB, { 'x-sluice-region': 'eu' });
    const us = await chat('chat-nearest', BOB, { 'x-sluice-region': 'us' });
    const near = await served();
    checks.add('geographic choice (x-sluice-region)', eu.status === 200 && us.status === 200 && near['chat-nearest/gemini'] === 1 && near['chat-nearest/openai'] === 1, `eu → gemini (${near['chat-nearest/gemini'] ?? 0}), us → openai (${near['chat-nearest/openai'] ?? 0})`, 'eu → gemini, us → openai');

    // Cost-optimised: the cheapest target answers.
    for (let i = 0; i < 4; i++) await chat('chat-cheapest');
    const cheap = await served();
    checks.add('cost-optimised choice', (cheap['chat-cheapest/groq'] ?? 0) === 4 && (cheap['chat-cheapest/openai'] ?? 0) === 0, `groq ${cheap['chat-cheapest/groq'] ?? 0}, openai ${cheap['chat-cheapest/openai'] ?? 0}`, 'all 4 on the cheaper');

    // Least loaded: concurrent requests spread over both targets.
    await Promise.all(Array.from({ length: 20 }, () => chat('chat-least-loaded')));
    const busy = await served();
    const ll = [busy['chat-least-loaded/openai'] ?? 0, busy['chat-least-loaded/groq'] ?? 0];
    checks.add('least loaded: concurrent requests spread', ll[0] + ll[1] === 20 && ll.every((n) => n > 0), `openai ${ll[0]}, groq ${ll[1]}`, 'both used');

    // Circuit breaker and fallback mode: the failing provider is cut off after 3 failures; every answer comes from the fallback.
    const resilient = [];
    for (let i = 0; i < 10; i++) resilient.push((await chat('chat-resilient')).status);
    const flakyCalls = flaky.stats.requests;
    checks.add('breaker opens after 3 failures; the fallback answers', resilient.every((s) => s === 200) && flakyCalls === 3, `${flakyCalls} calls to the failing provider for 10 requests, statuses ${[...new Set(resilient)].join(',')}`, '3 calls, all 200');

    // Streaming, from a Next.js-style client: the AI SDK's default OpenAI provider (the Responses API).
    const openai = createOpenAI({ baseURL: `${base}/v1`, apiKey: BOB });
    const stream = streamText({ model: openai('chat-round-robin'), prompt: 'Say hello.', maxRetries: 0 });
    let chunks = 0;
    for await (const delta of stream.textStream) if (delta.length > 0) chunks++;
    checks.add('streaming to the AI SDK default provider', chunks > 1 && (await stream.text).length > 0, `${chunks} text deltas`, 'a streamed answer');

    // Tier limits with burst. A pro user (sustained 10/s, burst 60) sends 80 requests at once
    // (20 in flight at a time): the burst is served, well above the sustained rate, then 429
    // with Retry-After. A free user (sustained 1 per 3 s, burst 5) sends 10 back to back: its
    // burst is smaller. (Each bucket refills while the run goes on, so the bound adds what
    // refilled in the time taken.) A limited user does not limit another of the same tier.
    const spike = async (key, n, inFlight) => {
      const replies = [];
      const t0 = performance.now();
      for (let i = 0; i < n; i += inFlight) replies.push(...(await Promise.all(Array.from({ length: Math.min(inFlight, n - i) }, () => chat('chat-round-robin', key)))));
      const ms = performance.now() - t0;
      const limited = replies.filter((r) => r.status === 429);
      const retryAfter = limited.map((r) => Number(r.headers['retry-after']));
      return { ok: replies.filter((r) => r.status === 200).length, limited: limited.length, other: replies.length - replies.filter((r) => r.status === 200).length - limited.length, ms, retryAfter, retryOk: limited.length > 0 && retryAfter.every((x) => Number.isInteger(x) && x >= 1) && limited.every((r) => r.json?.error?.code === 'SLUICE_ERR_RATE_LIMITED') };
    };
    const pro = await spike(CAROL, 80, 20);
    const proAllowed = 60 + Math.ceil(pro.ms / 100);
    const bobServed = (await chat('chat-round-robin', BOB)).status;
    checks.add(
      'pro tier: a burst of 60 above its 10/s, then 429 with Retry-After',
      pro.ok >= 60 && pro.ok <= proAllowed && pro.other === 0 && pro.retryOk && bobServed === 200,
      `${pro.ok} served, ${pro.limited} refused (Retry-After ${[...new Set(pro.retryAfter)].join(',')} s) of 80 in ${Math.round(pro.ms)} ms; another pro user ${bobServed}`,
      `60 + 1 per 100 ms (≤ ${proAllowed}), then 429`,
    );
    const free = await spike(ALICE, 10, 1);
    const freeAllowed = 5 + Math.floor(free.ms / 3000);
    checks.add(
      'free tier: a smaller burst (5), then 429 with Retry-After',
      free.ok >= 5 && free.ok <= freeAllowed && free.other === 0 && free.retryOk && freeAllowed < 60,
      `${free.ok} served, ${free.limited} refused (Retry-After ${[...new Set(free.retryAfter)].join(',')} s) of 10 in ${Math.round(free.ms)} ms`,
      `5 + 1 per 3 s (≤ ${freeAllowed}), then 429`,
    );

    // Cost per user, from the usage API.
    let users = [];
    for (let i = 0; i < 100; i++) {
      const usage = await call(`${base}/admin/usage?group_by=user`, { headers: { authorization: `Bearer ${ADMIN}` } });
      users = usage.json?.data ?? [];
      if (users.some((u) => u.user === 'alice') && users.some((u) => u.user === 'bob')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const costOf = (u) => users.find((d) => d.user === u);
    checks.add('cost per user (usage API)', costOf('alice') !== undefined && costOf('bob') !== undefined, users.map((u) => `${u.user}: ${u.requests} requests, $${Number(u.cost_usd).toFixed(6)}`).join('; '), 'a row per user');

    // The queue depth alert the design names: more than 100 requests wait for a provider at
    // its capacity (one slot, its answers held), and a real Prometheus scraping Sluice with the
    // repository's rules (deploy/prometheus/alerts.yml) has SluiceQueueDepthHigh pending (it
    // fires after its `for: 2m`). Then the provider answers and every queued request is served.
    const prometheus = await startPrometheus([new URL(base).host]);
    if (prometheus === null) {
      checks.skip('queue depth alert (SluiceQueueDepthHigh) in Prometheus', 'prometheus is not installed (Debian package prometheus)');
    } else {
      try {
        const queued = Array.from({ length: 102 }, () => chat('chat-busy', LOAD));
        for (const q of queued) q.catch(() => {}); // awaited below; a failed step before must not crash the run
        await capacity.arrived(1);
        const depth = async () => metric((await call(`${base}/metrics`)).text, 'sluice_queue_depth', 'route="chat-busy",target="busy/gpt-4o-mini"') ?? 0;
        const deep = await eventually(async () => (await depth()) > 100, 20_000);
        const t0 = performance.now();
        let alert;
        await eventually(async () => {
          alert = (await prometheus.alerts()).find((a) => a.labels?.alertname === 'SluiceQueueDepthHigh' && a.labels?.route === 'chat-busy');
          return alert !== undefined;
        }, 30_000);
        const seenAfter = performance.now() - t0;
        const peak = await depth();
        capacity.hold = false;
        while (capacity.held > 0) capacity.releaseOldest();
        const replies = await Promise.all(queued);
        checks.add(
          'queue depth alert (SluiceQueueDepthHigh) in Prometheus',
          deep && alert !== undefined && alert.state === 'pending' && replies.every((r) => r.status === 200),
          `queue depth ${peak} behind 1 slot; alert ${alert === undefined ? 'not seen' : `${alert.state} ${Math.round(seenAfter)} ms after the depth passed 100`}; then ${replies.filter((r) => r.status === 200).length} of 102 served`,
          'pending (fires after its for: 2m); all served',
        );
      } finally {
        capacity.hold = false;
        while (capacity.held > 0) capacity.releaseOldest();
        await prometheus.stop();
      }
    }

    // Latency percentiles under load.
    const rate = full ? 500 : 100;
    const { result } = await bench([`${base}/v1`, '--model', 'chat-round-robin', '--api-key', LOAD, '--rate', String(rate), '--duration', full ? '30s' : '2s']);
    const share = result.counts.sent === 0 ? 1 : result.counts.errors / result.counts.sent;
    checks.add('errors under load', result.counts.sent > 0 && share < 0.001, `${result.counts.errors} of ${result.counts.sent}${result.counts.errors > 0 ? ` (${Object.entries(result.errors).map(([k, n]) => `${n} ${k}`).join(', ')})` : ''}`, '< 0.1%');
    checks.target(`p50 / p95 / p99 at ${rate} req/s`, result.latency.p99 < 200, `p50 ${result.latency.p50} ms, p95 ${result.percentiles.find((p) => p.percentile >= 95)?.ms ?? '?'} ms, p99 ${result.latency.p99} ms`, 'p99 < 200 ms');
  } finally {
    await sluice.stop();
    sluice.removeData();
    await mock.close();
    await flaky.close();
    await capacity.close();
  }
}
