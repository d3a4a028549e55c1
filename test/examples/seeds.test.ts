import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runScenario, seedSystems } from '../helpers/scenarios.js';

describe('the seed systems on Sluice', () => {
  const systems = seedSystems();

  test('there are scenarios, and each runs in a test file of its own', () => {
    assert.ok(systems.length >= 5, 'examples/<system>/scenario.mjs');
    for (const system of systems) assert.ok(existsSync(fileURLToPath(new URL(`./${system}.test.js`, import.meta.url))), `test/examples/${system}.test.ts`);
  });

  test('a usage error names the systems', async () => {
    const { code, output } = await runScenario('no-such-system');
    assert.equal(code, 2);
    assert.match(output, new RegExp(`systems: ${systems.join(', ')}`));
  });
});
