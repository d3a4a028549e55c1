import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Spool } from '../../../src/usage/spool.js';

describe('the usage spool', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-spool-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('with fsync always a line is in the file when append returns', async () => {
    const spool = new Spool(dir, 'always');
    spool.append('{"a":1}');
    const file = readdirSync(dir).find((f) => f.endsWith('.jsonl'));
    assert.equal(readFileSync(join(dir, file!), 'utf8'), '{"a":1}\n');
    await spool.close();
  });

  test('one process per spool folder: a running holder is refused, a dead one is taken over', async () => {
    const spool = new Spool(dir, 'never');
    assert.throws(() => new Spool(dir, 'never'), /in use by process \d+/);
    await spool.close();
    // A process that was killed leaves its lock; no process has pid 2^22 + 1 (above Linux's pid_max).
    writeFileSync(join(dir, 'LOCK'), String(2 ** 22 + 1));
    await new Spool(dir, 'never').close();
  });

  test('with interval, lines are buffered until flush; seal makes a segment to ship, remove deletes it', async () => {
    const spool = new Spool(dir, 'interval');
    spool.append('1');
    spool.append('2');
    assert.deepEqual(readdirSync(dir), ['LOCK'], 'nothing written before the flush');
    await spool.seal();
    assert.equal(spool.sealed.length, 1);
    assert.deepEqual(spool.read(spool.sealed[0]!), { lines: ['1', '2'], torn: false });
    spool.append('3');
    await spool.seal();
    assert.equal(spool.sealed.length, 2);
    assert.throws(() => spool.remove(spool.sealed[1]!), /not the oldest/);
    spool.remove(spool.sealed[0]!);
    assert.deepEqual(spool.read(spool.sealed[0]!).lines, ['3']);
    await spool.seal();
    assert.equal(spool.sealed.length, 1, 'sealing an empty active segment makes nothing');
    await spool.close();
  });

  test('a restart finds what the last process left, in order, and a line cut short by a crash is dropped', async () => {
    const first = new Spool(dir, 'never');
    first.append('a');
    await first.seal();
    first.append('b');
    await first.close();
    // A crash mid-write leaves a partial last line.
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
    appendFileSync(join(dir, files.at(-1)!), '{"partial');
    const second = new Spool(dir, 'never');
    assert.equal(second.sealed.length, 2);
    assert.deepEqual(second.read(second.sealed[0]!), { lines: ['a'], torn: false });
    assert.deepEqual(second.read(second.sealed[1]!), { lines: ['b'], torn: true });
    second.append('c');
    await second.seal();
    assert.equal(second.sealed.length, 3, 'new lines go to a new segment after the old ones');
    assert.deepEqual(second.read(second.sealed[2]!).lines, ['c']);
    await second.close();
  });
});
