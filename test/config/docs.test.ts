import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';

const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');

interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  innerType?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  valueType?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
  in?: { _zod: { def: Def } };
}

/** Every key path the schema accepts, written as the reference writes them. */
function keyPaths(def: Def, prefix: string, out: Set<string>): void {
  switch (def.type) {
    case 'object':
      for (const [key, child] of Object.entries(def.shape ?? {})) {
        const path = prefix === '' ? key : `${prefix}.${key}`;
        out.add(path);
        keyPaths(child._zod.def, path, out);
      }
      return;
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
      return keyPaths(def.innerType!._zod.def, prefix, out);
    case 'pipe':
      return keyPaths(def.in!._zod.def, prefix, out);
    case 'array':
      return keyPaths(def.element!._zod.def, `${prefix}[]`, out);
    case 'record':
      return keyPaths(def.valueType!._zod.def, `${prefix}.<name>`, out);
    case 'union':
      for (const option of def.options ?? []) keyPaths(option._zod.def, prefix, out);
      return;
  }
}

test('docs/configuration.md documents every configuration key', () => {
  const paths = new Set<string>();
  keyPaths(configSchema._zod.def as unknown as Def, '', paths);
  assert.ok(paths.size > 20, `schema walk found only ${[...paths].join(', ')}`);
  for (const path of paths) {
    if (['server', 'logging', 'providers', 'routes'].includes(path)) continue;
    // Route-level policies share their keys with the `routing` defaults, documented once there.
    const documentedAs = path
      .replace(/^routes\[\]\.(retry|breaker|queue)\./, 'routing.$1.')
      // Limit and budget fields are the same object wherever they appear; documented under tiers.
      .replace(/^(keys\[\]|routes\[\]|services\[\])\.(limits|budget)\./, 'tiers.<name>.$2.')
      .replace(/^services\[\]\.ipLimits\./, 'tiers.<name>.limits.')
      .replace(/^limits\.ip\./, 'tiers.<name>.limits.');
    assert.ok(doc.includes(`\`${documentedAs}\``), `docs/configuration.md does not document \`${documentedAs}\``);
  }
});
