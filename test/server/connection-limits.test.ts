import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { startGateway } from '../helpers/gateway.js';
import { until } from '../helpers/streaming-upstream.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a new connection from `localAddress`. */
function ask(url: string, localAddress: string, method = 'GET', path = '/health', body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method, localAddress, agent: false, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An idle connection from `localAddress`: it holds its place and sends nothing. */
function hold(url: string, localAddress: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: hostname, port: Number(port), localAddress }, () => resolve(s));
    s.on('error', reject);
  });
}

const codeOf = (a: Answer): string => (JSON.parse(a.body) as { error: { code: string } }).error.code;

test('issue 15: connections over the per-address or the gateway-wide limit get a coded refusal, then are closed; under them, served', async () => {
  const gw = await startGateway({ server: { maxConnections: 4, maxConnectionsPerIp: 2 } });
  const gate = gw.gateway.connections;
  const held: net.Socket[] = [];
  try {
    held.push(await hold(gw.url, '127.0.0.2'), await hold(gw.url, '127.0.0.2'));
    await until(() => gate.open === 2, 15_000, 'two connections');

    const perIp = await ask(gw.url, '127.0.0.2');
    assert.equal(perIp.status, 429);
    assert.equal(codeOf(perIp), 'SLUICE_ERR_CLIENT_CONNECTION_LIMIT');
    assert.equal(perIp.headers.connection, 'close');
    assert.equal(perIp.headers['retry-after'], '1');
    // Model requests too (the fast path answers them from the same request event).
    const model = await ask(gw.url, '127.0.0.2', 'POST', '/v1/chat/completions', JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(model.status, 429);
    assert.equal(codeOf(model), 'SLUICE_ERR_CLIENT_CONNECTION_LIMIT');

    // Another address is served until the gateway holds its maximum.
    const ok = await ask(gw.url, '127.0.0.3');
    assert.equal(ok.status, 200);
    held.push(await hold(gw.url, '127.0.0.3'), await hold(gw.url, '127.0.0.3'));
    await until(() => gate.open === 4, 15_000, 'four connections');
    const full = await ask(gw.url, '127.0.0.4');
    assert.equal(full.status, 503);
    assert.equal(codeOf(full), 'SLUICE_ERR_TOO_MANY_CONNECTIONS');
    assert.equal(full.headers.connection, 'close');

    // A connection that closes frees its place.
    held.pop()!.destroy();
    await until(() => gate.open === 3, 15_000, 'the closed connection to be released');
    const after = await ask(gw.url, '127.0.0.4');
    assert.equal(after.status, 200);
  } finally {
    for (const s of held) s.destroy();
    await gw.close();
  }
});
