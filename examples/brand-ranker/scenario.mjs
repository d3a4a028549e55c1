// Brand ranker (seed 000) on Sluice: the checks of issue 22 for this design.
import { defaultMockOptions } from '../../dist/src/mock/options.js';
import { startMockServer } from '../../dist/src/mock/server.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { accessToken, bench, call, configFile, eventually, json, metric, startHeldProvider, startInstances, startRedis, startSluice } from '../lib.mjs';

export const title = 'brand-ranker (seed 000): LLM-ranked brands behind an API';

const JWT_SECRET = 'brand-ranker-auth-service-secret-0123456789';
const ADMIN = 'brand-ranker-ops-token-0123456789abcdef';

const jwt = (sub, sid, tier, options) => accessToken(JWT_SECRET, sub, sid, tier, options);

export async function run({ full, checks }) {
  // The first provider is down; the second and third answer (the built-in mock).
  const primary = await startMockServer({ port: 0, options: { ...defaultMockOptions, status: 503 } });
  const secondary = await startMockServer({ port: 0, options: defaultMockOptions });
  const tertiary = await startMockServer({ port: 0, options: defaultMockOptions });
  const dedicated = await startHeldProvider();
  const api = await startInstances(2, (req, res) => (req.url.startsWith('/api/v1/rankings') || req.url.startsWith('/api/v1/public/') ? json(res, 200, { rankings: [{ brand: 'Acme', score: 91 }] }) : json(res, 404, { detail: 'Not Found' })));
  const redis = await startRedis();
  const file = configFile('brand-ranker');
  const env = {
    REDIS_URL: redis.url,
    JWT_SECRET,
    SLUICE_ADMIN_TOKEN: ADMIN,
    PRIMARY_URL: primary.url,
    PRIMARY_KEY: 'sk-primary-0123456789',
    SECONDARY_URL: secondary.url,
    SECONDARY_KEY_1: 'sk-secondary-one-0123456789',
    SECONDARY_KEY_2: 'sk-secondary-two-0123456789',
    TERTIARY_URL: tertiary.url,
    TERTIARY_KEY: 'sk-tertiary-0123456789',
    DEDICATED_URL: dedicated.url,
    DEDICATED_KEY: 'sk-dedicated-0123456789',
    DEDICATED_KEY_NEXT: 'sk-dedicated-rotated-9876543210',
    API_1: api.urls[0],
    API_2: api.urls[1],
  };
  const sluice = await startSluice(file, env);
  try {
    const base = sluice.url;
    const token = await jwt('ann', 'ann-1');
    // Each check comes from its own client address (through the trusted load balancer), so the per-IP limit is per check.
    const as = (ip, t = token) => ({ authorization: `Bearer ${t}`, 'x-forwarded-for': ip });
    const rank = (brands, headers) => call(`${base}/v1/chat/completions`, { method: 'POST', headers, body: { model: 'ranker', temperature: 0, messages: [{ role: 'user', content: `Rank these brands: ${brands}` }] } });

    // Fallback across providers: the first is down, every ranking is answered.
    const ranked = [];
    for (let i = 0; i < 6; i++) ranked.push(await rank(`set ${i}`, as('10.0.0.1')));
    checks.add('fallback when the first provider fails', ranked.every((r) => r.status === 200) && primary.stats.requests >= 1, `${ranked.filter((r) => r.status === 200).length} of 6 answered; the failing provider called ${primary.stats.requests} times`, 'all 200');

    // LLM answers cached a week (shared), API answers five minutes.
    const again = await rank('set 0', as('10.0.0.2'));
    const r1 = await call(`${base}/api/v1/rankings?category=shoes`, { headers: as('10.0.0.2') });
    const r2 = await call(`${base}/api/v1/rankings?category=shoes`, { headers: as('10.0.0.2') });
    checks.add('LLM answer (7 d) and API answer (5 min) from the cache', again.headers['x-sluice-cache'] === 'hit' && r1.headers['x-sluice-cache'] === 'miss' && r2.headers['x-sluice-cache'] === 'hit', `LLM ${again.headers['x-sluice-cache']}; API ${r1.headers['x-sluice-cache']}, then ${r2.headers['x-sluice-cache']}`, 'hit; miss, hit');

    // Each entry's lifetime as Sluice applies it: the expiry of its key in the Redis cache
    // (the route's TTL; no stale grace here), and the API hit's Age header.
    const ttls = await cacheTtls(redis.url);
    const week = 7 * 86_400_000;
    const fiveMin = 5 * 60_000;
    const near = (ms, want) => ms !== undefined && ms <= want && ms > want - 60_000;
    const age = Number(r2.headers.age);
    checks.add(
      'cache lifetimes as applied: LLM 7 d, API 5 min',
      near(ttls.ranker, week) && near(ttls['service:api'], fiveMin) && Number.isInteger(age) && age >= 0 && age < 60,
      `Redis PTTL: ranker entry ${fmtMs(ttls.ranker)}, API entry ${fmtMs(ttls['service:api'])}; API hit Age: ${r2.headers.age ?? 'none'} s`,
      '≤ 7 d and ≤ 5 min (within a minute of each), Age present',
    );

    // Request batching: 20 concurrent embeddings make far fewer upstream calls.
    const before = secondary.stats.requests;
    const embeds = await Promise.all(Array.from({ length: 20 }, (_, i) => call(`${base}/v1/embeddings`, { method: 'POST', headers: as('10.0.0.3'), body: { model: 'brand-embeddings', input: `brand ${i}` } })));
    const embedCalls = secondary.stats.requests - before;
    checks.add('embeddings batched', embeds.every((r) => r.status === 200 && r.json?.data?.length === 1) && embedCalls < 20, `20 requests, ${embedCalls} upstream calls`, 'fewer than 20');

    // Rotating provider keys: both keys of the second provider served.
    const metrics = (await call(`${base}/metrics`)).text;
    const keyLines = metrics.split('\n').filter((l) => l.startsWith('sluice_provider_key_requests_total{') && l.includes('provider="secondary"') && !l.endsWith(' 0'));
    checks.add('rotating provider keys', keyLines.length === 2, `${keyLines.length} keys of the second provider used`, '2');

    // Per-IP limit (before authentication): an address's 31st request in the minute is refused; another address is not.
    let ipOk = 0;
    let ipLimited = 0;
    const t0 = performance.now();
    for (let i = 0; i < 35; i++) {
      const s = (await call(`${base}/api/v1/public/brands?q=${i}`, { headers: as('10.0.0.9') })).status;
      if (s === 200) ipOk++;
      else if (s === 429) ipLimited++;
    }
    const other = await call(`${base}/api/v1/public/brands?q=x`, { headers: as('10.0.0.10') });
    const ipAllowed = 30 + Math.floor((performance.now() - t0) / 2000);
    checks.add('per-IP limit (rpm 30)', ipOk >= 30 && ipOk <= ipAllowed && ipOk + ipLimited === 35 && other.status === 200, `${ipOk} served, ${ipLimited} refused from one address; another address ${other.status}`, `30 + 1 per 2 s (≤ ${ipAllowed}), then 429`);

    // Per-user limit (the JWT subject; default tier rpm 600): one user's 640 rankings of the
    // same brands (answered from the cache, still counted) are cut at 600 plus the refill;
    // another user from the same address is unaffected.
    const dave = await jwt('dave', 'dave-1');
    let userOk = 0;
    let userLimited = 0;
    const u0 = performance.now();
    for (let batch = 0; batch < 16; batch++) {
      const statuses = await Promise.all(Array.from({ length: 40 }, () => rank('set 0', as('10.0.0.5', dave)).then((r) => r.status)));
      userOk += statuses.filter((s) => s === 200).length;
      userLimited += statuses.filter((s) => s === 429).length;
    }
    const userAllowed = 600 + Math.ceil((performance.now() - u0) / 100);
    const erin = (await rank('set 0', as('10.0.0.5', await jwt('erin', 'erin-1')))).status;
    checks.add('per-user limit (rpm 600 per JWT subject)', userOk >= 600 && userOk <= userAllowed && userOk + userLimited === 640 && erin === 200, `${userOk} served, ${userLimited} refused for one user; another user ${erin}`, `600 + 1 per 100 ms (≤ ${userAllowed}), then 429`);

    // JWT of 15 minutes: a token issued 16 minutes ago is refused even though its issuer set a longer expiry.
    const stale = await jwt('ann', 'ann-old', undefined, { issuedAgoSec: 16 * 60, lifetimeSec: 60 * 60 });
    const staleStatus = (await rank('set 0', as('10.0.0.6', stale))).status;
    const freshStatus = (await rank('set 0', as('10.0.0.6', await jwt('ann', 'ann-new', undefined, { issuedAgoSec: 14 * 60 })))).status;
    checks.add('JWT older than 15 minutes refused', staleStatus === 401 && freshStatus === 200, `issued 16 min ago: ${staleStatus}; 14 min ago: ${freshStatus}`, '401; 200');

    // JWT of 15 minutes with revocation.
    const bob = await jwt('bob', 'bob-1');
    const okBefore = (await rank('x', as('10.0.0.4', bob))).status;
    const revoke = await call(`${base}/admin/sessions/revoke`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` }, body: { user: 'bob' } });
    const after = (await rank('y', as('10.0.0.4', bob))).status;
    checks.add('JWT revoked: sign out everywhere', okBefore === 200 && revoke.status === 200 && after === 401, `before ${okBefore}, revoke ${revoke.status}, after ${after}`, '200, 200, 401');

    // Strict CORS: the web app's origin only.
    const pre = (origin) => call(`${base}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
    const allowed = await pre('https://app.brand-ranker.example');
    const foreign = await pre('https://evil.example');
    checks.add('strict CORS', allowed.headers['access-control-allow-origin'] === 'https://app.brand-ranker.example' && foreign.headers['access-control-allow-origin'] === undefined, `app origin allowed; other origin ${foreign.headers['access-control-allow-origin'] === undefined ? 'refused' : 'ALLOWED'}`, 'only the app');

    // Prometheus.
    const served = metric(metrics, 'sluice_requests_total', 'endpoint="chat",route="ranker",provider="secondary",model="claude-3-5-sonnet",status="200",code=""');
    checks.add('Prometheus metrics', metrics.includes('sluice_request_duration_seconds_bucket') && served !== null, `sluice_requests_total for the ranker route: ${served}`, 'exposed');

    // Priority queues by request type: the dedicated deployment holds 2 requests at once.
    // Experiments fill it and its admission queue, then interactive rankings arrive; as the
    // provider answers one at a time, the queue admits every interactive ranking first.
    await priorityQueues({ base, dedicated, checks, full });

    // Rotating a provider key by config reload, under traffic, with no failed request.
    await keyRotation({ base, file, dedicated, checks });

    // API answers under load (a load-test user in its own tier; the per-IP limit covers the public pages only).
    const rate = full ? 1000 : 200;
    const { result } = await bench([base, '--path', '/api/v1/rankings?category=all', '--rate', String(rate), '--duration', full ? '30s' : '2s', '--api-key', await jwt('load', 'load-1', 'loadtest'), '--header', 'X-Forwarded-For: 10.0.1.1']);
    const share = result.counts.sent === 0 ? 1 : result.counts.errors / result.counts.sent;
    checks.add('API errors under load', result.counts.sent > 0 && share < 0.001, `${result.counts.errors} of ${result.counts.sent}`, '< 0.1%');
    checks.target(`API p99 at ${rate} req/s`, result.latency.p99 < 200, `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`, 'p99 < 200 ms');
  } finally {
    await sluice.stop();
    sluice.removeData();
    await Promise.all([primary.close(), secondary.close(), tertiary.close(), dedicated.close(), api.close()]);
    await redis.stop();
  }
}

/** The remaining lifetime (PTTL, ms) of one cache entry per namespace, read from Redis (`sluice:cache:{<namespace>|<tenant>|v<n>|<hash>}`). */
async function cacheTtls(url) {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    const ttls = {};
    for (const key of await client.keys('sluice:cache:{*')) {
      const namespace = decodeURIComponent(key.slice('sluice:cache:{'.length).split('|')[0]);
      ttls[namespace] ??= await client.pttl(key);
    }
    return ttls;
  } finally {
    client.disconnect();
  }
}

function fmtMs(ms) {
  if (ms === undefined) return 'none';
  if (ms < 0) return `PTTL ${ms}`;
  const d = ms / 86_400_000;
  return d >= 1 ? `${d.toFixed(4)} d` : `${(ms / 60_000).toFixed(2)} min`;
}

/**
 * A key rotation, as an operator does it: the provider issues a new key (it accepts both for
 * a while), the config file's line is pointed at the new key and the config reloaded (POST
 * /admin/config/reload), and once the provider sees the new key it revokes the old one. A
 * client keeps ranking, one request after another, on the dedicated route (one target, no
 * fallback: a refused key would be the client's error) all the while. Each step waits on what
 * the provider has seen, not on time.
 */
async function keyRotation({ base, file, dedicated, checks }) {
  const OLD = 'sk-dedicated-0123456789';
  const NEW = 'sk-dedicated-rotated-9876543210';
  dedicated.hold = false;
  dedicated.acceptKeys = new Set([OLD]);
  const before = dedicated.keysSeen.get(OLD) ?? 0;
  // What the provider saw during the rotation, per key.
  const seen = (key) => (dedicated.keysSeen.get(key) ?? 0) - (key === OLD ? before : 0);
  const token = await jwt('rotation-watch', 'rotation-1');
  const statuses = [];
  let running = true;
  const client = (async () => {
    for (let i = 0; running && i < 2_000; i++) {
      const r = await call(`${base}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-request-type': 'interactive', 'x-forwarded-for': '10.0.0.30' }, body: { model: 'ranker-dedicated', messages: [{ role: 'user', content: `rotation ${i}: rank Acme, Globex` }] } });
      statuses.push(r.status);
    }
  })();
  const steps = [];
  let newAtRevocation = Infinity;
  try {
    steps.push(await eventually(() => seen(OLD) >= 5));
    dedicated.acceptKeys = new Set([OLD, NEW]);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('apiKey: "${DEDICATED_KEY}"', 'apiKey: "${DEDICATED_KEY_NEXT}"'));
    const reload = await call(`${base}/admin/config/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    steps.push(reload.status === 200);
    steps.push(await eventually(() => seen(NEW) >= 1));
    dedicated.acceptKeys = new Set([NEW]);
    newAtRevocation = seen(NEW);
    steps.push(await eventually(() => seen(NEW) >= newAtRevocation + 5));
  } finally {
    running = false;
    await client;
  }
  const failed = statuses.filter((s) => s !== 200).length;
  checks.add(
    'provider key rotated by config reload, no failed request',
    steps.every(Boolean) && failed === 0 && dedicated.refused === 0 && seen(OLD) > 0 && seen(NEW) > 5,
    `${statuses.length} rankings one after another: ${failed} failed; the provider saw the old key ${seen(OLD)}×, the new key ${seen(NEW)}× (${Math.max(0, seen(NEW) - newAtRevocation)} after the old one was revoked), refused ${dedicated.refused}; reload ${steps[1] ? '200' : 'FAILED'}`,
    '0 failed, 0 refused by the provider',
  );
}

/**
 * Saturates the dedicated target (maxConcurrent 2) with experiments, queues more behind them,
 * then sends interactive rankings, and releases the provider one answer at a time: each
 * release frees one slot, the queue admits its head, and the next arrival at the provider is
 * awaited before the next release, so the order seen is the queue's order (no timing guess).
 * A request's wait is from when it was sent to when it reached the provider.
 */
async function priorityQueues({ base, dedicated, checks, full }) {
  const experiments = full ? 40 : 8;
  const interactive = full ? 10 : 4;
  const analytics = await jwt('analytics-service', 'analytics-1');
  const user = await jwt('carol', 'carol-1');
  const sentAt = new Map();
  const send = (type, i, token) => {
    const content = `${type} ${i}: rank Acme, Globex, Initech`;
    sentAt.set(content, performance.now());
    return call(`${base}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-request-type': type, 'x-forwarded-for': '10.0.0.20' }, body: { model: 'ranker-dedicated', messages: [{ role: 'user', content }] } });
  };
  const waiting = async () => (await call(`${base}/admin/queues`, { headers: { authorization: `Bearer ${ADMIN}` } })).json?.routes?.find((r) => r.route === 'ranker-dedicated')?.waiting ?? -1;
  const answers = [];
  // Two experiments take both slots; the rest of the experiments queue, then the interactive rankings.
  answers.push(send('experiment', 0, analytics), send('experiment', 1, analytics));
  await dedicated.arrived(2);
  for (let i = 2; i < 2 + experiments; i++) answers.push(send('experiment', i, analytics));
  const filled = await eventually(async () => (await waiting()) === experiments);
  for (let i = 0; i < interactive; i++) answers.push(send('interactive', i, user));
  const queued = filled && (await eventually(async () => (await waiting()) === experiments + interactive));
  const depth = await waiting();
  const total = 2 + experiments + interactive;
  for (let released = 0; released < total; released++) {
    dedicated.releaseOldest();
    if (2 + released < total) await dedicated.arrived(3 + released);
  }
  const statuses = (await Promise.all(answers)).map((r) => r.status);
  // The order the provider saw, after the two that held the slots.
  const order = dedicated.arrivals.slice(2).map((a) => (a.content.startsWith('interactive') ? 'I' : 'E'));
  const waitOf = (type) => dedicated.arrivals.filter((a) => a.content.startsWith(type) && !/^experiment [01]:/.test(a.content)).map((a) => a.at - sentAt.get(a.content));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const interactiveWait = waitOf('interactive');
  const experimentWait = waitOf('experiment');
  const expected = 'I'.repeat(interactive) + 'E'.repeat(experiments);
  checks.add(
    'priority queues: interactive ranking before experiments',
    queued && statuses.every((s) => s === 200) && order.join('') === expected && Math.max(...interactiveWait) < Math.min(...experimentWait),
    `queue held ${depth} (${experiments} experiments, then ${interactive} interactive) behind 2 in flight; admitted ${order.join('')}; wait median ${median(interactiveWait).toFixed(0)} ms interactive vs ${median(experimentWait).toFixed(0)} ms experiments`,
    `${interactive} I first; every I waits less`,
  );
}
