// Upswitch (seed 001) on Sluice: the checks of issue 22 for this design.
import { bench, call, configFile, json, startInstances, startRedis, startSluice } from '../lib.mjs';

export const title = 'upswitch (seed 001): AI business valuations, gpt-4o limited across instances';

const ADMIN = 'upswitch-ops-token-0123456789abcdef';
/** The daily gpt-4o allowance in a short run (the design's 10,000 RPD, scaled down). */
const RPD = 10;

/** OpenAI, shaped: counts calls per model; a valuation is ~1,200 prompt and ~400 completion tokens. */
function openai(calls) {
  return (req, res, body) => {
    const model = JSON.parse(body || '{}').model ?? '?';
    calls.set(model, (calls.get(model) ?? 0) + 1);
    json(res, 200, {
      id: `chatcmpl-${model}-${calls.get(model)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: `{"valuation_eur": 1250000, "by": "${model}"}` }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1200, completion_tokens: 400, total_tokens: 1600 },
    });
  };
}

/** The FastAPI backend: health, company data, a user's valuations list; each answer names its instance. */
function backend(req, res, _body, i) {
  const path = req.url.split('?')[0];
  if (path === '/api/v1/health') return json(res, 200, { status: 'ok' });
  if (path.startsWith('/api/v1/companies/')) return json(res, 200, { company: path.split('/').pop(), employees: 42, instance: i });
  if (path === '/api/v1/valuations') return json(res, 200, { valuations: [], instance: i });
  return json(res, 404, { detail: 'Not Found' });
}

export async function run({ full, checks }) {
  const calls = new Map();
  const upstream = await startInstances(1, openai(calls));
  const api = await startInstances(2, backend);
  const redis = await startRedis();
  const file = configFile('upswitch');
  const env = { REDIS_URL: redis.url, SLUICE_ADMIN_TOKEN: ADMIN, OPENAI_URL: `${upstream.urls[0]}/v1`, OPENAI_API_KEY: 'sk-upswitch-openai-key-0123456789', API_1: api.urls[0], API_2: api.urls[1], HEALTH_INTERVAL: '200ms', GPT4O_RPD: String(full ? 10_000 : RPD) };
  const a = await startSluice(file, env);
  const b = await startSluice(file, env);
  try {
    const both = [a.url, b.url];
    const valuation = (base, company) => call(`${base}/v1/chat/completions`, { method: 'POST', body: { model: 'gpt-4o', temperature: 0, messages: [{ role: 'user', content: `Value the company ${company}.` }] } });

    if (!full) {
      // gpt-4o's daily limit holds across both instances; past it, the cheaper model answers: never a bare error.
      const replies = await Promise.all(Array.from({ length: 3 * RPD }, (_, i) => valuation(both[i % 2], `co-${i}`)));
      const statuses = [...new Set(replies.map((r) => r.status))];
      const byModel = (m) => replies.filter((r) => r.json?.choices?.[0]?.message?.content?.includes(`"by": "${m}"`)).length;
      checks.add(`gpt-4o RPD ${RPD} across 2 instances, then the cheaper model`, statuses.length === 1 && statuses[0] === 200 && calls.get('gpt-4o') === RPD && byModel('gpt-4o-mini') === 2 * RPD, `${calls.get('gpt-4o')} gpt-4o calls, ${byModel('gpt-4o-mini')} answered by gpt-4o-mini, statuses ${statuses.join(',')}`, `${RPD} gpt-4o, ${2 * RPD} gpt-4o-mini, all 200`);
    }

    // Valuations cached for an hour, shared by both instances.
    // (Served from the cache: `hit`, or `coalesced` when the entry was still being stored.)
    const fromCache = (r) => ['hit', 'coalesced'].includes(r.headers['x-sluice-cache']);
    const upstreamCalls = () => [...calls.values()].reduce((x, y) => x + y, 0);
    const first = await valuation(a.url, 'Acme BV');
    const before = upstreamCalls();
    const again = await valuation(b.url, 'Acme BV');
    checks.add('valuation results cached (1 h), across instances', first.headers['x-sluice-cache'] === 'miss' && fromCache(again) && upstreamCalls() === before, `${first.headers['x-sluice-cache']}, then ${again.headers['x-sluice-cache']} on the other instance`, 'miss, then from the cache');

    // Cost per valuation from the usage API (USD; the design's budget is €0.10).
    let cost = null;
    for (let i = 0; i < 100 && cost === null; i++) {
      const usage = await call(`${a.url}/admin/usage?group_by=model`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const row = usage.json?.data?.find((d) => d.model === 'gpt-4o' && d.requests > 0);
      if (row !== undefined) cost = row.cost_usd / row.requests;
      else await new Promise((r) => setTimeout(r, 100));
    }
    checks.add('cost per valuation, from the usage API', cost !== null && cost < 0.1, cost === null ? 'no usage records' : `$${cost.toFixed(4)} per gpt-4o request`, '< €0.10');

    // API answers cached 5 minutes, company data a day.
    // (Both instances behind one public name: the cache key holds the Host.)
    const site = { host: 'app.upswitch.test' };
    const hits = [...api.hits];
    const c1 = await call(`${a.url}/api/v1/companies/acme`, { headers: site });
    const c2 = await call(`${b.url}/api/v1/companies/acme`, { headers: site });
    const reads = api.hits.reduce((x, y) => x + y, 0) - hits.reduce((x, y) => x + y, 0);
    checks.add('company data cached (1 d), across instances', c1.headers['x-sluice-cache'] === 'miss' && fromCache(c2) && reads === 1, `${c1.headers['x-sluice-cache']}, then ${c2.headers['x-sluice-cache']}; ${reads} API read`, 'miss, then from the cache; 1 read');

    // Round robin, and 30-minute sticky sessions (the cookie works on either Sluice instance).
    const fresh = await Promise.all([0, 1, 2, 3].map((i) => call(`${both[i % 2]}/api/v1/valuations?u=${i}`)));
    const spread = new Set(fresh.map((r) => r.json?.instance)).size;
    const cookie = String(fresh[0].headers['set-cookie'] ?? '').split(';')[0];
    const sticky = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => call(`${both[i % 2]}/api/v1/valuations?s=${i}`, { headers: { cookie } })));
    const pinned = new Set(sticky.map((r) => r.json?.instance));
    checks.add('round robin; a sticky session stays on its instance', spread === 2 && cookie.startsWith('upswitch_backend=') && pinned.size === 1 && pinned.has(fresh[0].json?.instance), `new sessions on ${spread} instances; 6 requests with the cookie on instance ${[...pinned].join(',')}`, 'both; one');

    // API p95 (uncached reads through the balancer).
    const rate = full ? 500 : 100;
    const { result } = await bench([a.url, '--path', '/api/v1/valuations', '--rate', String(rate), '--duration', full ? '30s' : '2s']);
    const p95 = result.percentiles.find((p) => p.percentile >= 95)?.ms ?? result.latency.p99;
    checks.add('API errors under load', result.counts.errors === 0 && result.counts.sent > 0, `${result.counts.errors} of ${result.counts.sent}`, '0');
    checks.target(`API p95 at ${rate} req/s`, p95 < 100, `p50 ${result.latency.p50} ms, p95 ${p95} ms, p99 ${result.latency.p99} ms`, 'p95 < 100 ms');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    a.removeData();
    b.removeData();
    await redis.stop();
    await api.close();
    await upstream.close();
  }
}
