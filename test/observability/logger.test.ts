import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { compileConfig } from '../../src/config/compile.js';
import { validateConfig } from '../../src/config/load.js';
import { SluiceError } from '../../src/errors.js';
import { createLogger } from '../../src/observability/logger.js';

const PROVIDER_KEY = 'prov-key-Q7w2E9r4T1y6U3i8';
const ADMIN_TOKEN = 'admin-token-"quoted"-0123456789';

function capture(): { out: string[]; sink: Writable } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { out, sink };
}

/** Waits for pino's asynchronous writes to reach the capturing sink. */
const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

test('regression (issue 15): upstream text in logged errors, causes and reasons loses the config secrets and key shapes', async () => {
  const config = compileConfig(
    validateConfig({ admin: { tokens: [ADMIN_TOKEN] }, providers: { up: { type: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: PROVIDER_KEY } }, routes: [{ match: '*', targets: [{ provider: 'up' }] }] }, 'test', {}),
    'test',
  );
  const { out, sink } = capture();
  const logger = createLogger('info', sink, config.redactor);
  const cause = new Error(`upstream said: Incorrect API key provided: ${PROVIDER_KEY}`);
  logger.error({ err: new SluiceError('SLUICE_ERR_INTERNAL', { message: `wrapped ${PROVIDER_KEY}`, cause }) }, 'unhandled error');
  logger.warn({ provider: 'up', reason: `401 for token ${ADMIN_TOKEN} and sk-proj-unknown0123456789abc` }, 'provider health');
  logger.info({ principal: 'key:5f0c7c1e-6a43-4b8e-9d0a-3c2b1a0f9e8d', reqId: 'abc' }, 'request');
  await flush();
  const text = out.join('');
  assert.ok(!text.includes(PROVIDER_KEY), text);
  assert.ok(!text.includes('0123456789'), text);
  assert.ok(!text.includes('sk-proj-unknown'), text);
  for (const line of out.join('').split('\n').filter((l) => l !== '')) JSON.parse(line); // still valid JSON
  assert.match(text, /key:5f0c7c1e-6a43-4b8e-9d0a-3c2b1a0f9e8d/, 'a principal id is not a credential');
  assert.match(text, /\[redacted\]/);
});
