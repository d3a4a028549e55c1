import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Tests mirror src/ (STYLE.md, issue 17): the test of src/<folder>/<file>.ts lives in
// test/<folder>/, so a reader finds it by its path. scripts/test-layout.mjs holds the rule.

interface Mismatch {
  readonly test: string;
  readonly reason: string;
}
interface Layout {
  layoutMismatches(root?: string): { folders: Mismatch[] };
}

/** The repository root: this file runs from dist/test/, its source sits in test/. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const layout = (await import(pathToFileURL(join(root, 'scripts', 'test-layout.mjs')).href)) as Layout;

const scratch = mkdtempSync(join(tmpdir(), 'sluice-layout-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('every test file sits in a folder that mirrors src/ (or e2e/, integration/, helpers/, fixtures/, deploy/)', () => {
  assert.deepEqual(layout.layoutMismatches(root).folders, []);
});

test('the rule catches a test in a folder src/ does not have, and allows one of a file directly in src/', () => {
  const files = ['src/routing/breaker.ts', 'src/errors.ts', 'test/routing/breaker.test.ts', 'test/errors.test.ts', 'test/unit/breaker.test.ts', 'test/e2e/sdk.test.ts', 'test/stray.test.ts'];
  for (const f of files) {
    mkdirSync(dirname(join(scratch, f)), { recursive: true });
    writeFileSync(join(scratch, f), '');
  }
  const folders = layout.layoutMismatches(scratch).folders.map((m) => m.test);
  assert.deepEqual(folders.sort(), ['test/stray.test.ts', 'test/unit/breaker.test.ts']);
});
