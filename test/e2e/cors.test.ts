import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { startGateway } from '../helpers/gateway.js';

const preflight = (url: string, origin: string) =>
  request(`${url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });

test('CORS: nothing is open by default', async () => {
  const gw = await startGateway({});
  try {
    const res = await preflight(gw.url, 'https://evil.example');
    await res.body.dump();
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  } finally {
    await gw.close();
  }
});

test('CORS: only the configured origins are allowed', async () => {
  const gw = await startGateway({ server: { cors: { origins: ['https://app.example.com'] } } });
  try {
    const ok = await preflight(gw.url, 'https://app.example.com');
    await ok.body.dump();
    assert.equal(ok.statusCode, 204);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com');
    const other = await preflight(gw.url, 'https://evil.example');
    await other.body.dump();
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const real = await request(`${gw.url}/v1/models`, { headers: { origin: 'https://app.example.com' } });
    await real.body.dump();
    assert.equal(real.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.match(String(real.headers['access-control-expose-headers']), /ratelimit/);
  } finally {
    await gw.close();
  }
});
