// Upswitch (seed 001) on Sluice: the checks of issue 22 for this design.
import { bench, call, configFile, eventually, json, startInstances, startRedis, startSluice } from '../lib.mjs';

export const title = 'upswitch (seed 001): AI business valuations, gpt-4o limited across instances';

const ADMIN = 'upswitch-ops-token-0123456789abcdef';
/** The daily gpt-4o allowance in a short run (the design's 10,000 RPD, scaled down). */
const RPD = 10;
/** The per-minute gpt-4o limits in a short run (the design's 500 RPM and 150k TPM, scaled down; each exercised on its own pair of instances). */
const SHORT_RPM = 40;
const SHORT_TPM = 4000;
/** The design's budget is in euros, the usage API's costs in US dollars: converted at this rate (€ per $), stated here. */
const EUR_PER_USD = 0.92;
/** The design's API response time today (its table: 85 ms, target < 100 ms): the backend stand-ins answer after it in --full runs. */
const API_LATENCY_MS = 85;

/**
 * OpenAI, shaped: counts calls per model; a valuation is ~1,200 prompt and ~400 completion
 * tokens, a quick question ("Quick: …") 40 and 10. `calls.failing` makes every model answer 500.
 */
function openai(calls) {
  return (req, res, body) => {
    const parsed = JSON.parse(body || '{}');
    const model = parsed.model ?? '?';
    calls.set(model, (calls.get(model) ?? 0) + 1);
    if (calls.failing) return json(res, 500, { error: { message: 'The server had an error while processing your request.', type: 'server_error' } });
    const quick = String(parsed.messages?.at(-1)?.content ?? '').startsWith('Quick');
    json(res, 200, {
      id: `chatcmpl-${model}-${calls.get(model)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: `{"valuation_eur": 1250000, "by": "${model}"}` }, finish_reason: 'stop' }],
      usage: quick ? { prompt_tokens: 40, completion_tokens: 10, total_tokens: 50 } : { prompt_tokens: 1200, completion_tokens: 400, total_tokens: 1600 },
    });
  };
}

/** The FastAPI backend: health (503 while `sick[i]`), company data, a user's valuations list; each answer names its instance. */
function backend(sick, probes) {
  return (req, res, _body, i) => {
    const path = req.url.split('?')[0];
    if (path === '/api/v1/health') {
      if (!sick[i]) return json(res, 200, { status: 'ok' });
      probes[i]++;
      return json(res, 503, { status: 'database unreachable' });
    }
    if (path.startsWith('/api/v1/companies/')) return json(res, 200, { company: path.split('/').pop(), employees: 42, instance: i });
    if (path === '/api/v1/valuations') return json(res, 200, { valuations: [], instance: i });
    return json(res, 404, { detail: 'Not Found' });
  };
}

export async function run({ full, checks }) {
  const calls = new Map();
  const upstream = await startInstances(1, openai(calls));
  const sick = [false, false];
  const probes = [0, 0];
  const api = await startInstances(2, backend(sick, probes), { latencyMs: full ? API_LATENCY_MS : 0 });
  const redis = await startRedis();
  const file = configFile('upswitch');
  const env = { REDIS_URL: redis.url, SLUICE_ADMIN_TOKEN: ADMIN, OPENAI_URL: `${upstream.urls[0]}/v1`, OPENAI_API_KEY: 'sk-upswitch-openai-key-0123456789', API_1: api.urls[0], API_2: api.urls[1], HEALTH_INTERVAL: '200ms', GPT4O_RPD: String(full ? 10_000 : RPD) };
  // gpt-4o's per-minute limits are exercised on pairs of their own (fresh counters); in a
  // short run beside the rest, in a full run after it (not beside its load).
  const minuteLimits = full ? null : perMinuteLimits({ full, file });
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

    // Graceful degradation, the stale answer: a valuation cached (kept 0.3 s by the caller's
    // x-sluice-cache-ttl, the route's 1 h otherwise); then every model fails (gpt-4o is also
    // over its RPD in the short run). Once the entry is past its TTL, asking again goes
    // upstream, fails on both models, and is answered from the stale entry (staleIfError 1d).
    // Polled until then: each answer before it is a fresh hit.
    {
      const ask = (base) => call(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'x-sluice-cache-ttl': '0.3' }, body: { model: 'gpt-4o', temperature: 0, messages: [{ role: 'user', content: 'Value the company Stale Holdings.' }] } });
      const cached = await ask(a.url);
      calls.failing = true;
      const failedBefore = [...calls.values()].reduce((x, y) => x + y, 0);
      const seen = [];
      let last = null;
      await eventually(async () => {
        last = await ask(b.url);
        seen.push(`${last.status} ${last.headers['x-sluice-cache']}`);
        return last.status !== 200 || last.headers['x-sluice-cache'] === 'stale';
      }, 10_000);
      const failedCalls = [...calls.values()].reduce((x, y) => x + y, 0) - failedBefore;
      calls.failing = false;
      const statuses = [...new Set(seen.map((x) => x.split(' ')[0]))];
      checks.add(
        'every model failing: a cached valuation served stale, not an error',
        cached.status === 200 && last?.status === 200 && last.headers['x-sluice-cache'] === 'stale' && last.text === cached.text && statuses.join() === '200' && failedCalls >= 2,
        `cached (${cached.headers['x-sluice-cache']}); then ${seen.length} asks on the other instance: ${last?.headers['x-sluice-cache']} at the last (${failedCalls} failed upstream calls), statuses ${statuses.join(',')}`,
        'stale, same answer, all 200',
      );
    }

    // Valuations cached for an hour, shared by both instances.
    // (Served from the cache: `hit`, or `coalesced` when the entry was still being stored.)
    const fromCache = (r) => ['hit', 'coalesced'].includes(r.headers['x-sluice-cache']);
    const upstreamCalls = () => [...calls.values()].reduce((x, y) => x + y, 0);
    const first = await valuation(a.url, 'Acme BV');
    const before = upstreamCalls();
    const again = await valuation(b.url, 'Acme BV');
    checks.add('valuation results cached (1 h), across instances', first.headers['x-sluice-cache'] === 'miss' && fromCache(again) && upstreamCalls() === before, `${first.headers['x-sluice-cache']}, then ${again.headers['x-sluice-cache']} on the other instance`, 'miss, then from the cache');

    // Cost per valuation from the usage API (in USD: Sluice has no currency setting), converted
    // at EUR_PER_USD against the design's budget of €0.10.
    let cost = null;
    for (let i = 0; i < 100 && cost === null; i++) {
      const usage = await call(`${a.url}/admin/usage?group_by=model`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const row = usage.json?.data?.find((d) => d.model === 'gpt-4o' && d.requests > 0);
      if (row !== undefined) cost = row.cost_usd / row.requests;
      else await new Promise((r) => setTimeout(r, 100));
    }
    const euros = cost === null ? null : cost * EUR_PER_USD;
    checks.add(`cost per valuation, from the usage API (USD, at ${EUR_PER_USD} €/$ stated in the scenario)`, euros !== null && euros < 0.1, euros === null ? 'no usage records' : `$${cost.toFixed(4)} = €${euros.toFixed(4)} per gpt-4o request`, '< €0.10');

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

    // Health checks on /api/v1/health (every 30 s in the file, 10 s timeout, out after 3
    // failures, back after 2 passes; every 200 ms in this run, HEALTH_INTERVAL): instance 2's
    // health check starts failing (its API still answers, so only the check can take it out).
    // Both Sluice instances take it out of rotation; new sessions all land on instance 1 and
    // succeed; healthy again, it comes back.
    {
      const up = async (base, i) => {
        const text = (await call(`${base}/metrics`)).text;
        const line = text.split('\n').find((l) => l.startsWith('sluice_http_instance_up{') && l.includes('service="backend"') && l.includes(api.urls[i].replace('http://', '')));
        return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
      };
      sick[1] = true;
      const out = await eventually(async () => (await up(a.url, 1)) === 0 && (await up(b.url, 1)) === 0, 10_000);
      const failedProbes = probes[1];
      const during = await Promise.all(Array.from({ length: 10 }, (_, i) => call(`${both[i % 2]}/api/v1/valuations?h=${i}`)));
      const onInstance = during.map((r) => r.json?.instance);
      sick[1] = false;
      const back = await eventually(async () => (await up(a.url, 1)) === 1 && (await up(b.url, 1)) === 1, 10_000);
      checks.add(
        'health check failing on one instance: out of rotation, traffic on the other',
        out && failedProbes >= 6 && during.every((r) => r.status === 200) && onInstance.every((x) => x === 0) && back,
        `out of rotation on both Sluice instances after ${failedProbes} failed checks at the instance (2 gateways probing); 10 new sessions: ${during.filter((r) => r.status === 200).length} served, on instance ${[...new Set(onInstance)].join(',')}; healthy again: ${back ? 'back' : 'still out'}`,
        'out after 3 failures each (interval 200 ms in this run), 10 of 10 on instance 0, back',
      );
    }

    // API p95 (uncached reads through the balancer).
    const rate = full ? 500 : 100;
    const { result } = await bench([a.url, '--path', '/api/v1/valuations', '--rate', String(rate), '--duration', full ? '30s' : '2s']);
    const p95 = result.percentiles.find((p) => p.percentile >= 95)?.ms ?? result.latency.p99;
    checks.add('API errors under load', result.counts.errors === 0 && result.counts.sent > 0, `${result.counts.errors} of ${result.counts.sent}`, '0');
    checks.target(`API p95 at ${rate} req/s`, p95 < 100, `p50 ${result.latency.p50} ms, p95 ${p95} ms, p99 ${result.latency.p99} ms`, 'p95 < 100 ms');

    for (const row of await (minuteLimits ?? perMinuteLimits({ full, file }))) checks.add(...row);
  } finally {
    await minuteLimits;
    await Promise.all([a.stop(), b.stop()]);
    a.removeData();
    b.removeData();
    await redis.stop();
    await api.close();
    await upstream.close();
  }
}

/** A company's figures as a valuation prompt carries them: about 1,200 tokens. */
const COMPANY_DATA = Array.from({ length: 60 }, (_, i) => `Year ${1990 + (i % 35)}: revenue 1250000 EUR, EBITDA 210000 EUR, 42 employees, segment ${i}.`).join(' ');

/**
 * RPM and TPM across instances: a pair of Sluice instances on a Redis of their own, one limit
 * scaled down (short run) or at the design's value (--full). Requests through instance A take
 * gpt-4o to its limit; then requests through instance B, which has sent nothing to gpt-4o,
 * find the limit reached by A's traffic: they queue (up to queue.timeout, 2 s) for the room the
 * limit gives back, and what cannot get it in time is answered by gpt-4o-mini: every answer
 * a 200, never a bare error. Resolves with the check rows (a failed run is a failed row).
 */
async function perMinuteLimits({ full, file }) {
  const rpm = full ? 500 : SHORT_RPM;
  const tpm = full ? 150_000 : SHORT_TPM;
  const phases = [
    { name: 'RPM', env: { GPT4O_RPM: String(rpm) }, limit: rpm, quick: true, onA: rpm, onB: full ? 40 : 6, perRequest: 1 },
    // A valuation costs 1,600 tokens, admitted on an estimate (its prompt and max_tokens) and
    // settled on its reported usage, so A's valuations run one at a time: the last one
    // admitted takes the minute's tokens to the limit.
    { name: 'TPM', env: { GPT4O_TPM: String(tpm) }, limit: tpm, quick: false, onA: Math.floor(tpm / 1600), onB: full ? 10 : 2, perRequest: 1600 },
  ];
  // The two pairs run side by side (independent: each its own provider stand-in and Redis).
  return Promise.all(phases.map((phase) => limitPhase(phase, file).catch((err) => [`gpt-4o ${phase.name} across 2 instances`, false, err instanceof Error ? err.message.split('\n')[0] : String(err)])));
}

/** One limit's run; resolves with its check row. */
async function limitPhase(phase, file) {
  const calls = new Map();
  const upstream = await startInstances(1, openai(calls));
  const redis = await startRedis();
  const env = { REDIS_URL: redis.url, SLUICE_ADMIN_TOKEN: ADMIN, OPENAI_URL: `${upstream.urls[0]}/v1`, OPENAI_API_KEY: 'sk-upswitch-openai-key-0123456789', API_1: upstream.urls[0], API_2: upstream.urls[0], ...phase.env };
  const [a, b] = await Promise.all([startSluice(file, env), startSluice(file, env)]);
  try {
    let n = 0;
    const ask = (base) => {
      // A valuation as the backend sends it: the company's data (about 1,200 tokens, what the
      // stand-in reports) and an answer bounded by max_tokens 400. A TPM limit admits on that
      // estimate (prompt + max_tokens) and settles on the usage reported; a prompt-only
      // estimate of a short text would let a burst through on a few tokens each.
      const body = phase.quick
        ? { model: 'gpt-4o', temperature: 0, messages: [{ role: 'user', content: `Quick: the sector of company q-${n++}?` }] }
        : { model: 'gpt-4o', temperature: 0, max_tokens: 400, messages: [{ role: 'user', content: `Value the company t-${n++}. ${COMPANY_DATA}` }] };
      return call(`${base}/v1/chat/completions`, { method: 'POST', body });
    };
    const by = (r) => (r.json?.model === 'gpt-4o' ? 'gpt-4o' : r.json?.model === 'gpt-4o-mini' ? 'mini' : `${r.status}`);
    const started = performance.now();
    const onA = [];
    if (phase.quick) {
      for (let i = 0; i < phase.onA; i += 50) onA.push(...(await Promise.all(Array.from({ length: Math.min(50, phase.onA - i) }, () => ask(a.url)))));
    } else {
      while (onA.length < phase.onA) onA.push(await ask(a.url));
    }
    const t0 = performance.now();
    const onB = await Promise.all(Array.from({ length: phase.onB }, async () => {
      const r = await ask(b.url);
      return { r, ms: performance.now() - t0 };
    }));
    const elapsedMs = performance.now() - started;
    const aModels = onA.map(by);
    const bModels = onB.map((x) => by(x.r));
    const count = (xs, m) => xs.filter((x) => x === m).length;
    const all200 = [...onA, ...onB.map((x) => x.r)].every((r) => r.status === 200);
    // What the limit allows in the run's time: the limit, plus what it gives back per elapsed minute, plus one request's share (TPM is charged after the answer).
    const allowed = Math.floor((phase.limit * (1 + elapsedMs / 60_000)) / phase.perRequest) + (phase.quick ? 0 : 1);
    const gpt4o = calls.get('gpt-4o') ?? 0;
    const slowestB = Math.max(...onB.map((x) => x.ms));
    const reachedOnA = count(aModels, 'gpt-4o') === phase.onA;
    return [
      `gpt-4o ${phase.name} ${phase.limit.toLocaleString('en')} across 2 instances: queue, then the cheaper model`,
      all200 && reachedOnA && count(bModels, 'mini') >= 1 && gpt4o <= allowed,
      `A: ${count(aModels, 'gpt-4o')} of ${phase.onA} by gpt-4o (the limit reached); then B (no gpt-4o call of its own before): ${count(bModels, 'gpt-4o')} by gpt-4o after queueing, ${count(bModels, 'mini')} by gpt-4o-mini, slowest ${Math.round(slowestB)} ms; ${gpt4o} gpt-4o calls in ${(elapsedMs / 1000).toFixed(1)} s; statuses ${[...new Set([...onA, ...onB.map((x) => x.r)].map((r) => r.status))].join(',')}`,
      `all 200; A all gpt-4o, B partly by gpt-4o-mini; gpt-4o ≤ ${allowed}`,
    ];
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    a.removeData();
    b.removeData();
    await redis.stop();
    await upstream.close();
  }
}
