import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { EventEmitter } from 'node:events';
import { ConnectionGate, MAX_PENDING_REFUSALS } from '../../src/edge/connection-limits.js';
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
    // Refused connections never become requests: a counter of their own tells them.
    const metrics = (await ask(gw.url, '127.0.0.5', 'GET', '/metrics')).body;
    assert.match(metrics, /sluice_connections_refused_total\{code="SLUICE_ERR_CLIENT_CONNECTION_LIMIT"\} 2\n/);
    assert.match(metrics, /sluice_connections_refused_total\{code="SLUICE_ERR_TOO_MANY_CONNECTIONS"\} 1\n/);
    // The three held, this one, and perhaps the last one while its close is on the way.
    const open = Number(/sluice_open_connections (\d+)\n/.exec(metrics)?.[1]);
    assert.ok(open >= 4 && open <= 5, `sluice_open_connections ${open}`);
  } finally {
    for (const s of held) s.destroy();
    await gw.close();
  }
});

/** Just what the gate touches of a socket. */
class FakeSocket extends EventEmitter {
  destroyed = false;
  timeoutMs = 0;
  constructor(readonly remoteAddress: string) {
    super();
  }
  setTimeout(ms: number): this {
    this.timeoutMs = ms;
    return this;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

test('refused connections waiting for their request are bounded: past MAX_PENDING_REFUSALS one is closed at once; closing frees the counts', () => {
  const gate = new ConnectionGate({ connections: 1, connectionsPerIp: 1 });
  const connect = (ip: string): FakeSocket => {
    const s = new FakeSocket(ip);
    gate.onConnection(s as unknown as net.Socket);
    return s;
  };
  const first = connect('10.0.0.1');
  assert.equal(gate.refusalFor(first as unknown as net.Socket), null);
  const refused = Array.from({ length: MAX_PENDING_REFUSALS }, (_, i) => connect(`10.1.${i >> 8}.${i & 255}`));
  assert.ok(refused.every((s) => !s.destroyed && s.timeoutMs > 0), 'each refused connection waits, with a deadline, for its request');
  assert.equal(gate.refusalFor(refused[0] as unknown as net.Socket)?.code, 'SLUICE_ERR_TOO_MANY_CONNECTIONS');
  const over = connect('10.2.0.1');
  assert.equal(over.destroyed, true, 'one refusal too many is closed without an answer');
  for (const s of refused) s.destroy();
  assert.equal(gate.open, 1);
  // The same address again: over its own limit.
  const again = connect('10.0.0.1');
  assert.equal(gate.refusalFor(again as unknown as net.Socket)?.code, 'SLUICE_ERR_CLIENT_CONNECTION_LIMIT');
  again.destroy();
  first.destroy();
  assert.equal(gate.open, 0);
  assert.equal(gate.refusalFor(connect('10.0.0.1') as unknown as net.Socket), null);
});
