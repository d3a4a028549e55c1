import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

// Issue 22: every seed system's scenario runs in its short mode (examples/run.mjs <system>):
// the gateway, the system's stand-ins and the load are real processes on loopback, and the
// scenario exits non-zero when one of its checks fails.

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const systems = readdirSync(EXAMPLES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(EXAMPLES, d.name, 'scenario.mjs')))
  .map((d) => d.name);

function runScenario(system: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(EXAMPLES, 'run.mjs'), system], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('the seed systems on Sluice (short runs)', () => {
  test('there are scenarios to run', () => {
    assert.ok(systems.length >= 1, 'examples/<system>/scenario.mjs');
  });
  for (const system of systems) {
    test(system, async () => {
      const { code, output } = await runScenario(system);
      assert.equal(code, 0, output);
      assert.match(output, /all \d+ checks passed/);
    });
  }

  test('a usage error names the systems', async () => {
    const { code, output } = await runScenario('no-such-system');
    assert.equal(code, 2);
    assert.match(output, new RegExp(`systems: ${systems.join(', ')}`));
  });
});
