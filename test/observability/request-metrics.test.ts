import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { PriceBook } from '../../src/tokens/prices.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

/** Sum of the samples of `metric` whose labels include every given pair. */
function sample(text: string, metric: string, labels: Record<string, string>): number {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf('}');
    const set = line.slice(metric.length + 1, close).split(/,(?=[a-z_]+=")/);
    if (pairs.every((p) => set.includes(p))) sum += Number(line.slice(close + 2));
  }
  return sum;
}

async function chat(url: string, model: string, stream = false): Promise<void> {
  assert.equal((await req.chat(url, { model, stream, messages: [{ role: 'user', content: 'hello there' }] })).status, 200);
}

describe('request metrics: upstream latency, gateway overhead, cost, bounded model label', () => {
  let gw: TestGateway;
  let text: string;
  before(async () => {
    gw = await startGateway({
      providers: { up: { type: 'mock', latencyMs: 40 } },
      routes: [
        { name: 'priced', match: 'gpt-4o', targets: [{ provider: 'up', model: 'gpt-4o' }] },
        { name: 'glob', match: 'any-*', targets: [{ provider: 'up' }] },
      ],
    });
    await chat(gw.url, 'gpt-4o');
    await chat(gw.url, 'gpt-4o', true);
    await chat(gw.url, 'any-client-chosen-name');
    text = await (await request(`${gw.url}/metrics`)).body.text();
  });
  after(() => gw.close());

  test('the upstream histogram holds the answering attempts, at least the mock latency each', () => {
    const labels = { route: 'priced', provider: 'up', model: 'gpt-4o' };
    assert.equal(sample(text, 'sluice_upstream_duration_seconds_count', labels), 2);
    assert.ok(sample(text, 'sluice_upstream_duration_seconds_sum', labels) >= 0.08);
  });

  test('gateway overhead is time to first byte minus upstream time, so far below the mock latency', () => {
    const labels = { route: 'priced', model: 'gpt-4o' };
    assert.equal(sample(text, 'sluice_gateway_overhead_seconds_count', labels), 2);
    const overhead = sample(text, 'sluice_gateway_overhead_seconds_sum', labels);
    const ttfb = sample(text, 'sluice_time_to_first_byte_seconds_sum', labels);
    const upstream = sample(text, 'sluice_upstream_duration_seconds_sum', labels);
    assert.ok(overhead >= 0 && overhead < ttfb, `overhead ${overhead} s, ttfb ${ttfb} s`);
    assert.ok(Math.abs(ttfb - upstream - overhead) < 1e-6, 'overhead + upstream = ttfb');
  });

  test('cost in USD is the reported tokens at the bundled gpt-4o price', () => {
    const labels = { route: 'priced', provider: 'up', model: 'gpt-4o' };
    const prompt = sample(text, 'sluice_tokens_total', { ...labels, kind: 'prompt' });
    const completion = sample(text, 'sluice_tokens_total', { ...labels, kind: 'completion' });
    assert.ok(prompt > 0 && completion > 0);
    const price = new PriceBook().lookup('gpt-4o')!;
    assert.ok(price.input > 0);
    const expected = (prompt * price.input + completion * price.output) / 1_000_000;
    assert.ok(Math.abs(sample(text, 'sluice_cost_usd_total', labels) - expected) < 1e-12);
  });

  test('a passed-through model the route does not name exactly is labelled "*", not the client\'s name', () => {
    assert.equal(sample(text, 'sluice_requests_total', { route: 'glob', model: '*', status: '200' }), 1);
    assert.ok(!text.includes('any-client-chosen-name'));
  });
});
