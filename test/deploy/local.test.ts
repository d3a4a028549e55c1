import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from 'undici';
import { freePort } from '../helpers/redis.js';
import * as req from '../helpers/requests.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
// The script is plain JavaScript, not compiled: run it from the source tree.
const SCRIPT = fileURLToPath(new URL('../../../deploy/local/cluster.mjs', import.meta.url));

interface ClusterState {
  gateways: { port: number; pid: number }[];
}

describe('deploy/local: instances behind haproxy sharing Redis and PostgreSQL', { timeout: 120_000 }, () => {
  let dir: string;
  let port: number;
  let key: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-cluster-test-'));
    port = await freePort();
    await run(process.execPath, [SCRIPT, 'up', '--instances', '2', '--port', String(port), '--dir', dir], { timeout: 100_000 });
    key = /SLUICE_DEMO_KEY=(\S+)/.exec(readFileSync(join(dir, 'secrets.env'), 'utf8'))![1]!;
  });
  after(async () => {
    await run(process.execPath, [SCRIPT, 'down', '--dir', dir], { timeout: 60_000 }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  const chat = async (): Promise<number> => (await req.chat(`http://127.0.0.1:${port}`, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, { bearer: key })).status;

  test('a request through haproxy is answered, and a key is refused without its secret', async () => {
    assert.equal(await chat(), 200);
    const res = await request(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-wrong' }, body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }) });
    await res.body.text();
    assert.equal(res.statusCode, 401);
  });

  test('an instance killed with SIGKILL: traffic continues on the other', async () => {
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as ClusterState;
    process.kill(state.gateways[0]!.pid, 'SIGKILL');
    // haproxy retries a refused connection on the other instance (option redispatch), so no
    // request fails, before or after its health check takes the dead one out.
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push(await chat());
    assert.deepEqual(statuses, Array(20).fill(200));
    const status = await run(process.execPath, [SCRIPT, 'status', '--dir', dir]);
    await waitFor(async () => /gateway-1\s+\S+\s+stopped/.test((await run(process.execPath, [SCRIPT, 'status', '--dir', dir])).stdout), 'status to show the dead instance');
    assert.match(status.stdout, /gateway-2\s+\S+\s+running/);
  });
});
