import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Issue 22: every seed system's scenario runs in its short mode (examples/run.mjs <system>):
// the gateway, the system's stand-ins and the load are real processes on loopback, and the
// scenario exits non-zero when one of its checks fails. One test file per system, so the
// runner spreads them (test/examples/<system>.test.ts).

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const EXAMPLES = join(ROOT, 'examples');

/** The systems with a scenario: examples/<system>/scenario.mjs. */
export function seedSystems(): string[] {
  return readdirSync(EXAMPLES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(EXAMPLES, d.name, 'scenario.mjs')))
    .map((d) => d.name);
}

export function runScenario(system: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(EXAMPLES, 'run.mjs'), system], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** Runs one system's short scenario and asserts every check passed. */
export async function assertScenarioPasses(system: string): Promise<void> {
  const { code, output } = await runScenario(system);
  assert.equal(code, 0, output);
  assert.match(output, /all \d+ checks passed/);
}
