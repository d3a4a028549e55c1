// SnapFix (seed 004) on Sluice: the checks of issue 22 for this design.
import { readFileSync, writeFileSync } from 'node:fs';
import { accessToken, bench, call, configFile, eventually, json, metric, startInstances, startRedis, startSluice } from '../lib.mjs';

export const title = 'snapfix (seed 004): civic issue tracker, 100,000 concurrent users';

const JWT_SECRET = 'snapfix-auth-service-secret-0123456789abcdef';
const ADMIN = 'snapfix-ops-token-0123456789abcdef';

const jwt = (sub, sid, tier) => accessToken(JWT_SECRET, sub, sid, tier);

/**
 * The FastAPI instances: list and create issues, health. Each answer takes API_LATENCY_MS (the
 * design's current response time, 60 ms) in a --full run, 2 ms in a short one.
 */
function api(req, res, body) {
  const path = req.url.split('?')[0];
  if (path === '/api/v1/health') return json(res, 200, { status: 'ok' });
  if (path === '/api/v1/issues' && req.method === 'GET') return json(res, 200, { issues: [{ id: 1, title: 'pothole', status: 'open' }] });
  if (path === '/api/v1/issues' && req.method === 'POST') return json(res, 201, { id: 2, ...JSON.parse(body || '{}') });
  return json(res, 404, { detail: 'Not Found' });
}

/** The design's API response time today (its table: 60 ms, target < 100 ms). */
const API_LATENCY_MS = 60;

/** The classification model, OpenAI-shaped; `state.failing` makes it answer 500, `state.calls` counts. */
function classifier(state) {
  return (req, res) => {
    state.calls++;
    if (state.failing) return json(res, 500, { error: { message: 'upstream overloaded', type: 'server_error' } });
    return json(res, 200, {
      id: `chatcmpl-${state.calls}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: '{"category":"roads","severity":"high"}' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 42, completion_tokens: 12, total_tokens: 54 },
    });
  };
}

export async function run({ full, checks }) {
  const instances = await startInstances(3, api, { latencyMs: full ? API_LATENCY_MS : 2 });
  const model = { calls: 0, failing: false };
  const upstream = await startInstances(1, classifier(model));
  const file = configFile('snapfix');
  const env = {
    SLUICE_ADMIN_TOKEN: ADMIN,
    JWT_SECRET,
    CLASSIFIER_URL: `${upstream.urls[0]}/v1`,
    CLASSIFIER_KEY: 'sk-snapfix-classifier-key',
    API_1: instances.urls[0],
    API_2: instances.urls[1],
    API_3: instances.urls[2],
    HEALTH_INTERVAL: '200ms',
  };
  let sluice = await startSluice(file, env);
  try {
    const base = sluice.url;
    const bearer = (token) => ({ authorization: `Bearer ${token}` });

    // Authentication: every API call needs a valid JWT.
    const anonymous = await call(`${base}/api/v1/issues`);
    checks.add('no JWT: refused', anonymous.status === 401, `${anonymous.status} ${anonymous.json?.error?.code ?? ''}`, '401');

    // 100 requests per minute per user: a burst of 100, then one more every 600 ms (GCRA, a
    // token bucket: docs/limits.md); user A's 110 requests back to back are cut there; B is not affected.
    const alice = await jwt('alice', 'alice-1');
    let ok = 0;
    let limited = 0;
    const t0 = performance.now();
    for (let i = 0; i < 110; i++) {
      const r = await call(`${base}/api/v1/issues`, { headers: bearer(alice) });
      if (r.status === 200) ok++;
      else if (r.status === 429 && r.json?.error?.code === 'SLUICE_ERR_RATE_LIMITED') limited++;
    }
    const allowed = 100 + Math.floor((performance.now() - t0) / 600);
    checks.add('100 requests/minute per user', ok >= 100 && ok <= allowed && ok + limited === 110, `${ok} served, ${limited} refused (429) of 110 in ${Math.round(performance.now() - t0)} ms`, `100 + 1 per 600 ms elapsed (≤ ${allowed})`);
    const bob = await jwt('bob', 'bob-1');
    const bobFirst = await call(`${base}/api/v1/issues`, { headers: bearer(bob) });
    checks.add('another user keeps his own allowance', bobFirst.status === 200, bobFirst.status, '200');

    // JWT with a session store (here the embedded one: this file has no state.redis, so the
    // store is the process's memory): a revoked session is refused at once; a new sign-in
    // works (a session revocation names the session id, not a time, so no wait is needed).
    const ready = await call(`${base}/ready`);
    const revoke = await call(`${base}/admin/sessions/revoke`, { method: 'POST', headers: bearer(ADMIN), body: { session: 'bob-1' } });
    const bobAfter = await call(`${base}/api/v1/issues`, { headers: bearer(bob) });
    const bobAgain = await call(`${base}/api/v1/issues`, { headers: bearer(await jwt('bob', 'bob-2')) });
    checks.add('revoked session refused at once, new session served (memory store)', ready.json?.state?.backend === 'memory' && revoke.status === 200 && bobAfter.status === 401 && bobAgain.status === 200, `state ${ready.json?.state?.backend}; revoke ${revoke.status}, old token ${bobAfter.status}, new token ${bobAgain.status}`, 'memory; 200, 401, 200');

    // Load through the balancer: sub-100 ms answers, errors under 0.1% (99.9% uptime).
    const loader = await jwt('load-generator', 'load-1', 'loadtest');
    const rate = full ? 1000 : 200;
    const seconds = full ? 30 : 2;
    const before = [...instances.hits];
    const load = await bench([base, '--path', '/api/v1/issues', '--rate', String(rate), '--duration', `${seconds}s`, '--api-key', loader, '--warmup', '1s']);
    const r = load.result;
    const errorShare = r.counts.sent === 0 ? 1 : r.counts.errors / r.counts.sent;
    const spread = instances.hits.map((h, i) => h - before[i]); // before the reference load below
    // For reference, the same load on the stand-ins without Sluice (they share one process, so
    // one instance at the full rate is the same work): what Sluice adds to the tail.
    const direct = (await bench([instances.urls[0], '--path', '/api/v1/issues', '--rate', String(rate), '--duration', `${seconds}s`, '--warmup', '1s'])).result;
    const added = Math.round((r.latency.p99 - direct.latency.p99) * 10) / 10;
    checks.target(`API p99 at ${rate} req/s (open loop, ${seconds} s)`, r.latency.p99 < 100, `p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, p99.9 ${r.latency.p999} ms; the stand-ins without Sluice: p50 ${direct.latency.p50} ms, p99 ${direct.latency.p99} ms (Sluice adds ${added} ms at p99)`, 'p99 < 100 ms');
    checks.add('errors under load', errorShare < 0.001, `${r.counts.errors} of ${r.counts.sent} (${(errorShare * 100).toFixed(3)}%)`, '< 0.1%');
    const mean = spread.reduce((a, b) => a + b, 0) / spread.length;
    checks.add('round robin over 3 instances', spread.every((h) => Math.abs(h - mean) <= mean * 0.1 + 2), spread.join(' / '), 'even (±10%)');

    // An instance dies under load: no client sees an error; it leaves rotation.
    // The kill comes once the load is flowing: the instance has answered part of it (its hit
    // count, observed, rather than a guessed delay).
    const hitsBefore = instances.hits[1];
    const during = bench([base, '--path', '/api/v1/issues', '--rate', String(full ? 500 : 100), '--duration', full ? '10s' : '3s', '--api-key', loader]);
    const flowing = await eventually(() => instances.hits[1] - hitsBefore >= (full ? 500 : 20), 10_000);
    await instances.kill(1);
    const failover = (await during).result;
    checks.add('an instance killed under load: errors', flowing && failover.counts.errors === 0, `${failover.counts.errors} of ${failover.counts.sent}`, '0');
    const out = await eventually(async () => {
      const m = (await call(`${base}/metrics`)).text;
      return m.split('\n').some((l) => l.startsWith('sluice_http_instance_up{') && l.includes(instances.urls[1].replace('http://', '')) && l.endsWith(' 0'));
    }, 10_000);
    checks.add('the dead instance leaves rotation (health check / outlier)', out, out ? 'sluice_http_instance_up = 0' : 'still up', 'out of rotation');

    // The classifier: 20 classifications, then the provider fails and the breaker opens.
    const carol = await jwt('carol', 'carol-1');
    const classify = () => call(`${base}/v1/chat/completions`, { method: 'POST', headers: bearer(carol), body: { model: 'issue-classifier', messages: [{ role: 'user', content: 'Deep pothole on Main St.' }] } });
    let classified = 0;
    for (let i = 0; i < 20; i++) if ((await classify()).status === 200) classified++;
    checks.add('issue classification through the gateway', classified === 20, `${classified} of 20`, '20');
    model.failing = true;
    const callsBefore = model.calls;
    const failed = [];
    for (let i = 0; i < 10; i++) failed.push((await classify()).status);
    const upstreamCalls = model.calls - callsBefore;
    const breakerMetric = metric((await call(`${base}/metrics`)).text, 'sluice_breaker_state', 'route="issue-classifier",target="classifier/gpt-4o-mini"');
    checks.add('circuit breaker opens after 5 failures', upstreamCalls <= 6 && breakerMetric !== null && breakerMetric > 0, `${upstreamCalls} upstream calls for 10 requests (statuses ${[...new Set(failed)].join(',')}), breaker state ${breakerMetric}`, '≤ 6 calls, open');
    model.failing = false;

    // Zero data loss: the gateway is SIGKILLed; restarted on the same folder, every answered classification is on record.
    await sluice.kill();
    sluice = await startSluice(file, env, { dataDir: sluice.dir });
    let recorded = 0;
    await eventually(async () => {
      const usage = await call(`${sluice.url}/admin/usage?group_by=model`, { headers: bearer(ADMIN) });
      const row = usage.json?.data?.find((d) => d.model === 'issue-classifier');
      recorded = row?.requests ?? 0;
      return recorded >= 30;
    }, 10_000);
    checks.add('usage records after a SIGKILL of the gateway', recorded === 30, `${recorded} of 30 requests on record`, 'all 30 (20 served + 10 failed)');

    await redisSessions({ file, env, checks });
  } finally {
    await sluice.stop();
    sluice.removeData();
    await instances.close();
    await upstream.close();
  }
}

/**
 * "JWT with Redis session store": the production form of this file (its `state` line
 * uncommented) on two Sluice instances sharing one Redis. A session revoked through one
 * instance's admin API is refused on the other at once (the very next request, no wait), and
 * "sign out everywhere" (a user's revocation) likewise.
 */
async function redisSessions({ file, env, checks }) {
  const text = readFileSync(file, 'utf8');
  const production = text.replace('# state: { redis: "${REDIS_URL}" }', 'state: { redis: "${REDIS_URL}" }');
  if (production === text) throw new Error('examples/snapfix/sluice.yaml: the commented state.redis line is missing');
  const redisFile = file.replace(/sluice\.yaml$/, 'sluice-redis.yaml');
  writeFileSync(redisFile, production);
  const redis = await startRedis();
  const [a, b] = await Promise.all([startSluice(redisFile, { ...env, REDIS_URL: redis.url }), startSluice(redisFile, { ...env, REDIS_URL: redis.url })]);
  try {
    const issues = (sluice, token) => call(`${sluice.url}/api/v1/issues`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    const revoke = (sluice, body) => call(`${sluice.url}/admin/sessions/revoke`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` }, body }).then((r) => r.status);
    const backend = (await call(`${b.url}/ready`)).json?.state?.backend;
    const dan = await jwt('dan', 'dan-1');
    const danOther = await jwt('dan', 'dan-2');
    const before = [await issues(a, dan), await issues(b, dan)];
    const revokedSession = await revoke(a, { session: 'dan-1' });
    const sessionAfter = [await issues(b, dan), await issues(b, danOther)];
    checks.add(
      'Redis session store: a session revoked on instance A, refused on B at once',
      backend === 'redis' && before.every((s) => s === 200) && revokedSession === 200 && sessionAfter[0] === 401 && sessionAfter[1] === 200,
      `state ${backend}; before ${before.join('/')}; revoke on A ${revokedSession}; on B: that session ${sessionAfter[0]}, the user's other session ${sessionAfter[1]}`,
      'redis; 200/200; 200; 401, 200',
    );
    const eve = [await jwt('eve', 'eve-phone'), await jwt('eve', 'eve-laptop')];
    const eveBefore = await Promise.all(eve.map((t, i) => issues([a, b][i], t)));
    const revokedUser = await revoke(b, { user: 'eve' });
    const eveAfter = await Promise.all(eve.flatMap((t) => [issues(a, t), issues(b, t)]));
    checks.add(
      'Redis session store: sign out everywhere, on both instances',
      eveBefore.every((s) => s === 200) && revokedUser === 200 && eveAfter.every((s) => s === 401),
      `2 sessions ${eveBefore.join('/')}; revoke the user on B ${revokedUser}; then ${eveAfter.join('/')} (each session on A and B)`,
      '200/200; 200; all 401',
    );
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    a.removeData();
    b.removeData();
    await redis.stop();
  }
}
