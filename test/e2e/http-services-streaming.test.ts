import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { request } from 'undici';
import { startGateway } from '../helpers/gateway.js';

const MiB = 1024 * 1024;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

/** Polls until `value()` stops moving between two looks (buffers fill at the machine's pace). */
async function settled(value: () => number): Promise<number> {
  let last = -1;
  for (let i = 0; i < 50 && value() !== last; i++) {
    last = value();
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(value(), last, 'the writer never came to a stop');
  return last;
}

// The 256 MiB upload below needs more than the services' default 10 MB body limit.
const services = (url: string) => ({ services: [{ name: 'files', match: { pathPrefix: '/files/' }, instances: [{ url }], bodyLimit: '1gb' }] });

test('HTTP services: a client that does not read holds the instance back (response backpressure)', async () => {
  let written = 0;
  let stopped = false;
  const block = Buffer.alloc(64 * 1024, 120);
  const upstream = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const pump = (): void => {
      while (!stopped && written < 256 * MiB) {
        written += block.length;
        if (!res.write(block)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('close', () => (stopped = true));
    pump();
  });
  const gw = await startGateway(services(await listen(upstream)));
  try {
    const res = await request(`${gw.url}/files/big`);
    assert.equal(res.statusCode, 200);
    const heldAt = await settled(() => written);
    assert.ok(heldAt < 64 * MiB, `the instance wrote ${heldAt} bytes to a client that read nothing`);
    let received = 0;
    for await (const piece of res.body) {
      received += (piece as Buffer).length;
      if (received > heldAt + MiB) break;
    }
    assert.ok(written > heldAt, 'the instance resumed once the client read');
  } finally {
    await gw.close();
    await close(upstream);
  }
});

test('HTTP services: an instance that does not read holds the client back (request backpressure), and a body streams through whole', async () => {
  let reading = false;
  let received = 0;
  const upstream = http.createServer((req, res) => {
    const finish = (): void => {
      req.on('data', (c: Buffer) => (received += c.length));
      req.on('end', () => res.end(String(received)));
    };
    if (reading) finish();
    else req.pause(); // read nothing until the test says so
    upstream.emit('paused', finish);
  });
  const gw = await startGateway(services(await listen(upstream)));
  try {
    let produced = 0;
    const block = Buffer.alloc(64 * 1024, 97);
    const body = new Readable({
      read() {
        if (produced >= 256 * MiB) return void this.push(null);
        produced += block.length;
        this.push(block);
      },
    });
    let resume: (() => void) | null = null;
    upstream.once('paused', (f: () => void) => (resume = f));
    // Rejects once the client gives up below.
    const pending = request(`${gw.url}/files/upload`, { method: 'PUT', body }).catch(() => undefined);
    const heldAt = await settled(() => produced);
    assert.ok(heldAt < 64 * MiB, `the client pushed ${heldAt} bytes to an instance that read nothing`);
    assert.notEqual(resume, null);
    body.destroy(); // the client gives up; the instance then reads what reached it

    // A body that is read streams through whole (32 MiB, chunked, never held whole in memory).
    reading = true;
    received = 0;
    let sent = 0;
    const whole = Readable.from(
      (function* () {
        for (let i = 0; i < 512; i++) {
          sent += block.length;
          yield block;
        }
      })(),
    );
    const res = await request(`${gw.url}/files/upload`, { method: 'PUT', body: whole });
    assert.equal(res.statusCode, 200);
    assert.equal(Number(await res.body.text()), 32 * MiB);
    assert.equal(sent, 32 * MiB);
    await pending;
  } finally {
    await gw.close();
    await close(upstream);
  }
});
