// Mercenary (seed 003) on Sluice: the checks of issue 22 for this design.
import { readFileSync, writeFileSync } from 'node:fs';
import { bench, call, configFile, delay, json, logged, startInstances, startRedis, startSluice } from '../lib.mjs';

export const title = 'mercenary (seed 003): stateless instances behind a load balancer, 10,000 req/s';

const APP_KEY = 'sk-mercenary-mobile-app-0123456789';
const LOAD_KEY = 'sk-mercenary-load-generator-01234567';
const API = { host: 'api.mercenary.test' };

export async function run({ full, checks }) {
  // The API instances: a product read takes 150 ms (a slow query: what a stampede multiplies).
  const productReads = new Map();
  const api = await startInstances(2, async (req, res, _body, i) => {
    const path = req.url.split('?')[0];
    if (path === '/health') return json(res, 200, { ok: true });
    if (path.startsWith('/api/v1/products/')) {
      productReads.set(path, (productReads.get(path) ?? 0) + 1);
      await delay(150);
      return json(res, 200, { id: path.split('/').pop(), price: 12.5, instance: i }, { 'cache-control': 'max-age=300' });
    }
    if (path === '/api/v1/orders') return json(res, 200, { orders: [], instance: i });
    return json(res, 404, { error: 'not found' });
  });
  const media = await startInstances(1, (req, res) => (req.url === '/health' ? json(res, 200, { ok: true }) : json(res, 200, { media: req.url })));
  const redis = await startRedis();
  const file = configFile('mercenary');
  const env = { REDIS_URL: redis.url, APP_KEY, LOAD_KEY, API_1: api.urls[0], API_2: api.urls[1], MEDIA_1: media.urls[0], HEALTH_INTERVAL: '200ms' };
  const a = await startSluice(file, env);
  const b = await startSluice(file, env);
  try {
    const both = [a.url, b.url];
    const key = (k) => ({ authorization: `Bearer ${k}` });

    // Host- and path-based routing.
    const toApi = await call(`${a.url}/api/v1/orders`, { headers: { ...API } });
    const noHost = await call(`${a.url}/api/v1/orders`);
    const toMedia = await call(`${b.url}/media/logo.png`);
    checks.add('host + path routing', toApi.status === 200 && toApi.json?.orders !== undefined && noHost.status === 404 && toMedia.json?.media === '/media/logo.png', `api.mercenary.test/api → api (${toApi.status}), other host → ${noHost.status}, /media → media (${toMedia.status})`, 'api, 404, media');

    // Rate limits in Redis hold across instances: 130 requests alternating over both instances.
    let ok = 0;
    let limited = 0;
    const t0 = performance.now();
    for (let i = 0; i < 130; i++) {
      const r = await call(`${both[i % 2]}/api/v1/orders`, { headers: { ...API, ...key(APP_KEY) } });
      if (r.status === 200) ok++;
      else if (r.status === 429) limited++;
    }
    const allowed = 120 + Math.floor((performance.now() - t0) / 500);
    checks.add('rpm 120 per key across 2 instances (Redis)', ok >= 120 && ok <= allowed && ok + limited === 130, `${ok} served, ${limited} refused of 130 (both instances)`, `120 + 1 per 500 ms (≤ ${allowed})`);

    // Stampede prevention: 40 concurrent reads of a cold entry over both instances reach the API once.
    const path = '/api/v1/products/7';
    const cold = await Promise.all(Array.from({ length: 40 }, (_, i) => call(`${both[i % 2]}${path}`, { headers: { ...API } })));
    const results = new Map();
    for (const r of cold) results.set(r.headers['x-sluice-cache'], (results.get(r.headers['x-sluice-cache']) ?? 0) + 1);
    checks.add('stampede: 40 concurrent cold reads over 2 instances', productReads.get(path) === 1 && cold.every((r) => r.status === 200), `${productReads.get(path)} API read; ${[...results].map(([k, n]) => `${n} ${k}`).join(', ')}`, '1 API read');

    // Versioned cache keys: bump cache.version, reload both instances (SIGHUP): a miss, then hits.
    const hit = await call(`${a.url}${path}`, { headers: { ...API } });
    writeFileSync(file, readFileSync(file, 'utf8').replace('cache: { ttl: 5m, version: 1 }', 'cache: { ttl: 5m, version: 2 }'));
    const marks = [a.output().length, b.output().length];
    a.child.kill('SIGHUP');
    b.child.kill('SIGHUP');
    const reloaded = (await logged(a, /config reloaded/, marks[0])) && (await logged(b, /config reloaded/, marks[1]));
    const afterBump = await call(`${b.url}${path}`, { headers: { ...API } });
    const again = await call(`${a.url}${path}`, { headers: { ...API } });
    checks.add('versioned keys: version bump by hot reload', hit.headers['x-sluice-cache'] === 'hit' && reloaded && afterBump.headers['x-sluice-cache'] === 'miss' && ['hit', 'coalesced'].includes(again.headers['x-sluice-cache']) && productReads.get(path) === 2, `before ${hit.headers['x-sluice-cache']}, reload ${reloaded ? 'ok' : 'FAILED'}, after ${afterBump.headers['x-sluice-cache']} then ${again.headers['x-sluice-cache']}; ${productReads.get(path)} API reads`, 'hit, miss, then served from the cache; 2 reads');

    // The five load tests of the design, through one instance: errors under 0.1%, p99 under 1 s.
    const R = full ? 1000 : 100;
    const D = full ? '60s' : '2s';
    for (const profile of ['smoke', 'load', 'stress', 'soak', 'spike']) {
      const rate = profile === 'smoke' ? Math.max(5, R / 20) : profile === 'stress' ? R / 2 : R;
      const { result } = await bench([a.url, '--path', '/api/v1/orders', '--header', 'Host: api.mercenary.test', '--api-key', LOAD_KEY, '--profile', profile, '--rate', String(rate), '--duration', D]);
      const share = result.counts.sent === 0 ? 1 : result.counts.errors / result.counts.sent;
      checks.add(`${profile} (R=${rate}/s, D=${D}): errors`, share < 0.001 && result.counts.sent > 0, `${result.counts.errors} of ${result.counts.sent}`, '< 0.1%');
      checks.target(`${profile}: p99`, result.latency.p99 < 1000, `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, peak ${Math.round(Math.max(...result.timeline.map((t) => t.ok ?? 0)))} ok/s`, 'p99 < 1 s');
    }

    // An API instance dies: the health check (2 failures) takes it out on both Sluice instances; no client error.
    await api.kill(1);
    let errors = 0;
    for (let i = 0; i < 40; i++) if ((await call(`${both[i % 2]}/api/v1/orders`, { headers: { ...API } })).status !== 200) errors++;
    checks.add('an API instance killed: client errors', errors === 0, `${errors} of 40`, '0');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    a.removeData();
    b.removeData();
    await redis.stop();
    await api.close();
    await media.close();
  }
}
