import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { SignJWT } from 'jose';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';

const CLIENT_KEY = 'sk-models-client-key-0123456789';
const JWT_SECRET = 'a-very-long-hmac-secret-of-at-least-32-chars';

const getModels = (gw: TestGateway, headers: Record<string, string>) => req.sendJson<{ data?: unknown[]; error?: { code: string } }>(gw, '/v1/models', { headers });

describe('/v1/models requires a valid credential when auth.required is on (issue 15)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ auth: { required: true, jwt: { secret: JWT_SECRET } }, keys: [{ name: 'client', key: CLIENT_KEY }] });
  });
  after(() => gw.close());

  test('regression: no key, or an unknown key, is refused with 401 SLUICE_ERR_UNAUTHORIZED', async () => {
    const none = await getModels(gw, {});
    assert.equal(none.status, 401);
    assert.equal(none.json.error?.code, 'SLUICE_ERR_UNAUTHORIZED');
    assert.equal(none.json.data, undefined, 'no model list without a key');
    const wrong = await getModels(gw, { authorization: 'Bearer sk-not-a-configured-key-000' });
    assert.equal(wrong.status, 401);
    const sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-wrong-key-for-the-sdk-0000', maxRetries: 0 });
    await assert.rejects(sdk.models.list(), (err: unknown) => err instanceof OpenAI.AuthenticationError);
  });

  test('a valid key (openai SDK), x-api-key, or a valid JWT lists the models', async () => {
    const sdk = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0 });
    const page = await sdk.models.list();
    assert.ok(page.data.some((m) => m.id === 'mock-1'));
    assert.equal((await getModels(gw, { 'x-api-key': CLIENT_KEY })).status, 200);
    const jwt = await new SignJWT({ sub: 'u1' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(JWT_SECRET));
    assert.equal((await getModels(gw, { authorization: `Bearer ${jwt}` })).status, 200);
  });
});

test('/v1/models stays open when auth is not required', async () => {
  const gw = await startGateway({});
  try {
    const open = await getModels(gw, {});
    assert.equal(open.status, 200);
    assert.ok(Array.isArray(open.json.data));
  } finally {
    await gw.close();
  }
});
