import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// Dependencies point one way (docs/architecture.md, issue 17): no file in src/ reaches itself
// through its imports. Type-only imports count too: a type circle is a design circle, and the
// next value import along it becomes a load-order bug.

/** The repository root: this file runs from dist/test/, its source sits in test/. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Each file's relative imports (static, dynamic and re-exports), as paths of .ts files. */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets: string[] = [];
    for (const ref of info.importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), ref.fileName.replace(/\.js$/, '.ts'));
      if (known.has(target)) targets.push(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

/** A set of files that reach each other through imports (a strongly connected part of more than one file, or a file importing itself). */
export interface Circle {
  /** Every file in the part, sorted. */
  readonly files: string[];
  /** One circle through them, for the failure message (first file repeated at the end). */
  readonly path: string[];
}

/** Every circle in `graph`, one per strongly connected part. */
export function findCircles(graph: ReadonlyMap<string, readonly string[]>): Circle[] {
  // Tarjan's strongly connected components; a part of more than one file (or a file importing itself) is a circle.
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: Circle[] = [];
  const visit = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
    }
    if (low.get(v) !== indexOf.get(v)) return;
    const part: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      part.push(w);
    } while (w !== v);
    if (part.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push({ files: part.sort(), path: pathWithin(graph, new Set(part), v) });
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return circles;
}

/** One concrete circle through `start` inside a strongly connected part, for the failure message. */
function pathWithin(graph: ReadonlyMap<string, readonly string[]>, part: ReadonlySet<string>, start: string): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!part.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let at = v; at !== start; at = prev.get(at)!) path.splice(1, 0, at);
        path.push(start);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/**
 * Circles known when this check was written, in parts of issue 17 that other changes
 * restructure (the config compile step, the HTTP services entry), each named by its files.
 * Remove an entry when its circle is gone; a new circle, or one that grows, fails.
 */
const KNOWN: readonly string[] = ['src/config/compile.ts src/config/services.ts', 'src/http/services.ts src/http/websocket.ts'];

test('no file in src/ imports itself in a circle', () => {
  const circles = findCircles(importGraph(sourceFiles(join(root, 'src'))));
  const unknown = circles.filter((c) => !KNOWN.includes(c.files.map((f) => relative(root, f)).join(' ')));
  const shown = unknown.map((c) => `${c.path.map((f) => relative(root, f)).join(' → ')} (${c.files.length} files)`);
  assert.deepEqual(shown, [], `import circles:\n${shown.join('\n')}`);
});

test('the circle check finds a circle, and only a circle', () => {
  const graph = new Map<string, string[]>([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a', 'd']],
    ['d', []],
    ['e', ['e']],
  ]);
  assert.deepEqual(findCircles(graph), [
    { files: ['a', 'b', 'c'], path: ['a', 'b', 'c', 'a'] },
    { files: ['e'], path: ['e', 'e'] },
  ]);
  assert.deepEqual(findCircles(new Map([['a', ['b']], ['b', []]])), []);
});

test('the import graph reads static, type-only, re-exported and dynamic imports', () => {
  const src = join(root, 'src');
  const graph = importGraph(sourceFiles(src));
  // A file known to import others, so the check is not vacuously passing on an empty graph.
  const edges = [...graph.values()].reduce((n, t) => n + t.length, 0);
  assert.ok(edges > 100, `only ${edges} imports found in src/`);
  const info = ts.preProcessFile("import type { A } from './a.js';\nexport { B } from './b.js';\nconst c = await import('./c.js');\n", true, true);
  assert.deepEqual(
    info.importedFiles.map((f) => f.fileName),
    ['./a.js', './b.js', './c.js'],
  );
});
