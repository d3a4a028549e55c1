#!/usr/bin/env node
// Tests mirror src/ (issue 17; STYLE.md rule 12): the test of src/<folder>/<file>.ts is
// test/<folder>/<file>.test.ts, so it is found by its path. Beside the mirror, test/ holds
// only the tiers and support folders listed in OUTSIDE_SRC.
//
//   node scripts/test-layout.mjs
//
// Prints every test file whose folder mirrors no src folder (the rule), then, for information,
// test files in a mirrored folder whose name matches no source file there, and support files
// (not *.test.ts) outside helpers/ and fixtures/. Exits 1 when the rule is broken;
// test/layout.test.ts asserts the same through layoutMismatches().
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, URL } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Folders of test/ that mirror no src folder by design. */
export const OUTSIDE_SRC = {
  e2e: 'real clients (official SDKs, a browser) against a whole gateway',
  integration: 'real Redis and PostgreSQL servers the test starts',
  helpers: 'shared test code, not tests',
  fixtures: 'recorded provider answers, not tests',
  deploy: 'the repository’s deploy/ folder (Kubernetes, Prometheus rules, Grafana)',
  examples: 'the seed systems’ scenarios in examples/, run in their short mode',
};

/** Test files directly in test/ that are about the whole of src/, not one file of it. */
export const WHOLE_SRC = {
  'imports.test.ts': 'the import graph of src/ (no cycles but the known ones)',
  'layout.test.ts': 'this rule',
};

function walk(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

const posix = (p) => p.split(sep).join('/');

/**
 * The layout's mismatches under `root`: `folders` breaks the rule (a test file in a folder that
 * mirrors no src folder and is not one of OUTSIDE_SRC); `names` and `support` are information.
 */
export function layoutMismatches(root = ROOT) {
  const testDir = join(root, 'test');
  const srcDir = join(root, 'src');
  const folders = [];
  const names = [];
  const support = [];
  const sources = walk(srcDir).map((p) => posix(relative(root, p)));
  /** src files named <base>.ts, or folders named <base> (a hint, not a rule: names change too). */
  const candidates = (base) => sources.filter((p) => p.endsWith(`/${base}.ts`) || p.includes(`/${base}/`)).map((p) => (p.endsWith(`/${base}.ts`) ? p : p.slice(0, p.indexOf(`/${base}/`) + base.length + 2))).filter((p, i, all) => all.indexOf(p) === i);
  for (const path of walk(testDir)) {
    const rel = posix(relative(testDir, path));
    const parts = rel.split('/');
    const top = parts.length > 1 ? parts[0] : '';
    if (top in OUTSIDE_SRC) continue;
    const folder = parts.slice(0, -1).join('/');
    const file = parts.at(-1);
    if (!file.endsWith('.test.ts')) {
      if (file.endsWith('.ts')) support.push(`test/${rel}`);
      continue;
    }
    const srcFolder = join(srcDir, folder);
    // Directly in test/: a test of a file directly in src/ (errors.ts), or of the whole of src/.
    if (folder === '' && (file in WHOLE_SRC || existsSync(join(srcDir, file.replace(/\.test\.ts$/, '.ts'))))) continue;
    if (folder === '' || !existsSync(srcFolder) || !statSync(srcFolder).isDirectory()) {
      folders.push({ test: `test/${rel}`, reason: folder === '' ? 'directly in test/' : `src/${folder}/ does not exist`, candidates: candidates(file.slice(0, -'.test.ts'.length)) });
      continue;
    }
    const base = file.slice(0, -'.test.ts'.length);
    if (!existsSync(join(srcFolder, `${base}.ts`)) && !existsSync(join(srcFolder, base))) names.push({ test: `test/${rel}`, folder: `src/${folder}/`, candidates: candidates(base) });
  }
  return { folders, names, support };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { folders, names, support } = layoutMismatches();
  const out = [];
  out.push(`# Test layout: test/<folder>/ mirrors src/<folder>/, or is one of ${Object.keys(OUTSIDE_SRC).map((k) => `${k}/`).join(', ')}`, '');
  out.push(`## Test files in a folder that mirrors no src folder: ${folders.length}`, '');
  const hint = (c) => (c.length === 0 ? '' : `; same name: ${c.join(', ')}`);
  for (const f of folders) out.push(`- ${f.test} (${f.reason}${hint(f.candidates)})`);
  out.push('', `## For information: test files in a mirrored folder named after no file or folder there: ${names.length}`, '');
  for (const n of names) out.push(`- ${n.test} (nothing of that name in ${n.folder}${hint(n.candidates)})`);
  out.push('', `## For information: support files (not *.test.ts) outside helpers/ and fixtures/: ${support.length}`, '');
  for (const s of support) out.push(`- ${s}`);
  process.stdout.write(`${out.join('\n')}\n`);
  process.exitCode = folders.length === 0 ? 0 : 1;
}
