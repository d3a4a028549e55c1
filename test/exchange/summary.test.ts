import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { RequestContext } from '../../src/exchange/context.js';
import { summarize, summarizeService, type RequestSummary, type ServiceSummary } from '../../src/exchange/summary.js';
import { SluiceError } from '../../src/errors.js';
import { EventBus } from '../../src/observability/events.js';
import { startBackends } from '../helpers/backends.js';
import { startGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/wait.js';
import { compiledRoute } from '../helpers/routes.js';

const route = compiledRoute('r', ['m'], ['m-1']);

function finished(): RequestContext {
  const ctx = new RequestContext('req-1', 'chat', { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, route, 1);
  ctx.headers = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-other': 'kept out' };
  ctx.target = route.targets[0]!;
  ctx.status = 200;
  ctx.firstByteAt = 3;
  ctx.endedAt = 5;
  ctx.retries = 1;
  ctx.usage = { promptTokens: 12, cachedPromptTokens: 0, completionTokens: 30, totalTokens: 42 };
  ctx.recordAttempt(route.targets[0]!, 1, 2, new SluiceError('SLUICE_ERR_UPSTREAM_TIMEOUT'));
  ctx.recordAttempt(route.targets[0]!, 2, 3, null);
  return ctx;
}

/** Writes through a summary as a careless subscriber would; every write must throw (ES modules are strict). */
function tamper(s: RequestSummary): number {
  const writes: (() => void)[] = [
    () => ((s as { status: number }).status = 500),
    () => ((s as { errorCode: string | null }).errorCode = 'SLUICE_ERR_INTERNAL'),
    () => ((s.usage as { completionTokens: number }).completionTokens = 0),
    () => (s.attempts as unknown[]).push({}),
    () => ((s.attempts[0] as { error: unknown }).error = null),
    () => delete (s as { id?: string }).id,
  ];
  let refused = 0;
  for (const write of writes) {
    try {
      write();
    } catch (err) {
      assert.ok(err instanceof TypeError);
      refused++;
    }
  }
  return refused;
}

describe('the request summary', () => {
  test('is frozen, with its token counts and attempts, and holds what subscribers read', () => {
    const s = summarize(finished());
    assert.ok(Object.isFrozen(s));
    assert.ok(Object.isFrozen(s.usage));
    assert.ok(Object.isFrozen(s.attempts));
    assert.ok(s.attempts.every((a) => Object.isFrozen(a)));
    assert.equal(tamper(s), 6, 'every write is refused');
    assert.equal(s.status, 200);
    assert.equal(s.usage?.completionTokens, 30);
    assert.deepEqual(
      s.attempts.map((a) => a.error?.code ?? null),
      ['SLUICE_ERR_UPSTREAM_TIMEOUT', null],
    );
    assert.equal(s.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(s.tracestate, null);
    assert.equal((s as unknown as Record<string, unknown>).headers, undefined, 'the request headers are not handed on');
    assert.equal(s.route, route);
    assert.equal(s.retries, 1);
  });

  test('does not follow the request after it was built', () => {
    const ctx = finished();
    const s = summarize(ctx);
    ctx.status = 502;
    ctx.recordAttempt(route.targets[0]!, 5, 6, null);
    assert.equal(s.status, 200);
    assert.equal(s.attempts.length, 2);
  });

  test('a request that made no recorded attempt shares one empty, frozen list', () => {
    const ctx = new RequestContext('req-2', 'chat', { model: 'm', messages: [] }, route, 0);
    const a = summarize(ctx);
    const b = summarize(ctx);
    assert.equal(a.attempts.length, 0);
    assert.equal(a.attempts, b.attempts);
    assert.ok(Object.isFrozen(a.attempts));
    assert.equal(a.usage, null);
  });

  test('a subscriber cannot change what the next subscriber sees', () => {
    const errors: unknown[] = [];
    const bus = new EventBus((err) => errors.push(err));
    let refused = 0;
    let seen: { status: number; errorCode: string | null; completion: number | undefined; attempts: number; id: string } | null = null;
    bus.on('request:end', (s) => {
      refused = tamper(s);
      // A subscriber that does not catch its failed write is reported, and the others still run.
      (s as { status: number }).status = 500;
    });
    bus.on('request:end', (s) => {
      seen = { status: s.status, errorCode: s.errorCode, completion: s.usage?.completionTokens, attempts: s.attempts.length, id: s.id };
    });
    bus.emit('request:end', summarize(finished()));
    assert.equal(refused, 6);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof TypeError);
    assert.deepEqual(seen, { status: 200, errorCode: null, completion: 30, attempts: 2, id: 'req-1' });
  });

  test('a service request summary is frozen too', () => {
    const s = summarizeService({
      id: 'svc-1',
      service: { name: 'api' },
      method: 'GET',
      url: '/x?y=1',
      instance: 'http://127.0.0.1:1',
      principal: finished().principal,
      status: 200,
      errorCode: null,
      clientGone: false,
      startedAt: 1,
      firstByteAt: 2,
      endedAt: 3,
      retries: 0,
      cacheResult: null,
      settlement: null,
    });
    assert.ok(Object.isFrozen(s));
    assert.throws(() => ((s as { status: number }).status = 500), TypeError);
    assert.equal(s.service, 'api');
    assert.equal(s.model, null);
  });
});

describe('a gateway publishes each finished request once, as a frozen summary', () => {
  test('model and service requests', async () => {
    const [api] = await startBackends('api');
    const gw = await startGateway({
      providers: { mock: { type: 'mock' } },
      routes: [{ match: 'm', targets: [{ provider: 'mock', model: 'mock-1' }] }],
      services: [{ name: 'api', match: { pathPrefix: '/api/' }, instances: [{ url: api!.url }] }],
    });
    const models: RequestSummary[] = [];
    const services: ServiceSummary[] = [];
    gw.gateway.bus.on('request:end', (s) => models.push(s));
    gw.gateway.bus.on('http:end', (s) => services.push(s));
    try {
      const res = await request(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'summary-e2e' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hello' }] }),
      });
      assert.equal(res.statusCode, 200);
      await res.body.text();
      const svc = await request(`${gw.url}/api/ping`);
      assert.equal(svc.statusCode, 200);
      await svc.body.text();
      // A model request is published before its answer's last bytes; a service's once its chain returns.
      assert.equal(models.length, 1);
      await waitFor(() => services.length > 0, 'the service request summary');
      assert.equal(services.length, 1);
    } finally {
      await gw.close();
      await api!.stop();
    }
    const [m] = models;
    assert.ok(Object.isFrozen(m));
    assert.equal(m!.id, 'summary-e2e');
    assert.equal(m!.status, 200);
    assert.equal(m!.target?.provider, 'mock');
    assert.ok(m!.usage !== null && Object.isFrozen(m!.usage));
    assert.ok(m!.endedAt >= m!.startedAt);
    assert.equal(m!.attempts.length, 0, 'attempts are kept only while tracing is on');
    const [s] = services;
    assert.ok(Object.isFrozen(s));
    assert.equal(s!.service, 'api');
    assert.equal(s!.url, '/api/ping');
    assert.equal(s!.status, 200);
  });
});
