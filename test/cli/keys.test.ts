import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { keyPrefix } from '../../src/lib/hash.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { CLI } from '../helpers/cli.js';

const ADMIN = 'admin-token-0123456789abcdef';
/** The shortest key the config accepts: 16 characters. */
const SHORT_KEY = 'Zq8vK2mP4xR7tB1n';
const LONG_KEY = 'sk-client-7f3a9c2e5b8d1f4a6c0e9b2d';

/** Runs the CLI without blocking this process, which hosts the gateway it talks to. */
function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

/** How many leading characters of `key` appear in `text` (the longest shown prefix). */
function shownChars(text: string, key: string): number {
  let n = 0;
  while (n < key.length && text.includes(key.slice(0, n + 1))) n++;
  return n;
}

describe('sluice keys list shows only a short prefix of config keys (issue 15)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      admin: { tokens: [ADMIN] },
      database: { embedded: 'memory' },
      keys: [{ name: 'short', key: SHORT_KEY }, { name: 'long', key: LONG_KEY }],
    });
  });
  after(() => gw.close());

  test('regression: a 16-character config key is not shown to 14 characters, in the CLI or the admin API', async () => {
    const out = await cli(['keys', 'list', '--url', gw.url, '--admin-token', ADMIN]);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /config:short\tshort\t/);
    assert.ok(shownChars(out.stdout, SHORT_KEY) <= 5, `CLI shows ${shownChars(out.stdout, SHORT_KEY)} characters of a 16-character key`);
    assert.ok(shownChars(out.stdout, LONG_KEY) <= 14);
    const res = await request(`${gw.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const text = await res.body.text();
    assert.ok(shownChars(text, SHORT_KEY) <= 5, `admin API shows ${shownChars(text, SHORT_KEY)} characters`);
  });

  test('keyPrefix: a generated key keeps its 14-character prefix; others show at most 4 characters past a scheme and a third of the key', () => {
    assert.equal(keyPrefix('sk-sluice-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg'), 'sk-sluice-AbCd');
    assert.equal(keyPrefix(SHORT_KEY), 'Zq8v');
    assert.equal(keyPrefix('sk-0123456789abcdef'), 'sk-012', 'a third of 19 characters');
    assert.equal(keyPrefix('sk-ant-api03-0123456789abcdefghijklmnopqrstuvwxyz'), 'sk-ant-api0');
  });
});
