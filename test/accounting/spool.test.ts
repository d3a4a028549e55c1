import assert from 'node:assert/strict';
import { appendFileSync, fdatasync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Spool, type SyncFile } from '../../src/accounting/spool.js';

/** A sync that only completes when the test lets it: counts calls, holds each one. */
function heldSync(): { sync: SyncFile; calls: number; release: () => void } {
  const held: (() => void)[] = [];
  const hook = {
    calls: 0,
    sync: (): Promise<void> => {
      hook.calls++;
      return new Promise<void>((resolve) => held.push(resolve));
    },
    release: (): void => held.shift()!(),
  };
  return hook;
}

/** Lets pending I/O callbacks and promise jobs run (no timers: a turn of the event loop). */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('the usage spool', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-spool-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('the lines of one event-loop turn are handed to the OS in one write at its end, under every policy', async () => {
    for (const policy of ['always', 'interval', 'never'] as const) {
      const sub = join(dir, policy);
      const spool = new Spool(sub, policy);
      spool.append('{"a":1}');
      spool.append('{"a":2}');
      assert.deepEqual(readdirSync(sub), ['LOCK'], `${policy}: nothing written within the turn`);
      await spool.written();
      const file = readdirSync(sub).find((f) => f.endsWith('.jsonl'));
      assert.equal(readFileSync(join(sub, file!), 'utf8'), '{"a":1}\n{"a":2}\n', policy);
      assert.equal(spool.stats.writes, 1, `${policy}: one write for the turn`);
      assert.equal(spool.stats.written, 2);
      await spool.close();
    }
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

  test('a segment this process wrote is shipped from memory, not read back from its file', async () => {
    const spool = new Spool(dir, 'never');
    spool.append('{"a":1}');
    spool.append('{"a":2}');
    await spool.seal();
    // Its file is not read: what the test writes over it is not what comes back.
    writeFileSync(spool.sealed[0]!, 'other\n');
    assert.deepEqual(spool.read(spool.sealed[0]!), { lines: ['{"a":1}', '{"a":2}'], torn: false });
    await spool.close();
  });

  test('past the memory budget, or after a failed write, a segment is read from its file', async () => {
    const spool = new Spool(dir, 'never', { memoryBytes: 10 });
    const overwrite = (i: number): void => writeFileSync(spool.sealed[i]!, `disk${i}\n`);
    spool.append('aaaa');
    await spool.seal(); // 5 bytes held
    spool.append('bbbb');
    await spool.seal(); // 10 held: the budget
    spool.append('cc');
    await spool.seal(); // would be 13: read from its file
    for (let i = 0; i < 3; i++) overwrite(i);
    assert.deepEqual(spool.read(spool.sealed[0]!).lines, ['aaaa']);
    assert.deepEqual(spool.read(spool.sealed[1]!).lines, ['bbbb']);
    assert.deepEqual(spool.read(spool.sealed[2]!).lines, ['disk2']);
    spool.remove(spool.sealed[0]!); // frees its 5 bytes
    spool.append('dd');
    await spool.seal();
    overwrite(2);
    assert.deepEqual(spool.read(spool.sealed[2]!).lines, ['dd'], 'held again once a shipped segment freed its bytes');
    await spool.close();

    // A write that fails leaves the file without the lines appended: it is read as it is.
    const sub = join(dir, 'failing');
    const lost: number[] = [];
    const failing = new Spool(sub, 'never', { onError: (_err, n) => lost.push(n) });
    const first = join(sub, '000000000001.jsonl');
    mkdirSync(first); // the first segment cannot be opened for writing
    failing.append('lost');
    await failing.written();
    assert.deepEqual(lost, [1]);
    rmdirSync(first);
    failing.append('kept');
    await failing.seal();
    assert.deepEqual(failing.read(failing.sealed[0]!).lines, ['kept'], 'the lost line is not shipped from memory');
    await failing.close();
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

  test('group commit: with fsync always, records waiting while a sync runs share the next one, and none is durable before its sync', async () => {
    const hook = heldSync();
    const spool = new Spool(dir, 'always', { sync: hook.sync });
    spool.append('first');
    let firstDurable = false;
    void spool.durable().then(() => (firstDurable = true));
    await spool.written();
    await turn();
    assert.equal(hook.calls, 1, 'the first record starts a sync');
    // 200 records in 20 turns (ten concurrent requests ending per turn) while that sync runs.
    let restDurable = false;
    for (let t = 0; t < 20; t++) {
      for (let i = 0; i < 10; i++) spool.append(`r${t}-${i}`);
      if (t === 19) void spool.durable().then(() => (restDurable = true));
      await turn();
    }
    assert.equal(spool.stats.written, 201, 'all handed to the OS');
    assert.equal(spool.stats.writes, 21, 'one write per turn');
    assert.equal(spool.stats.durable, 0, 'nothing is durable before its sync completes');
    assert.equal(hook.calls, 1, 'one sync at a time: the others wait, grouped');
    assert.equal(firstDurable, false);

    hook.release();
    await turn();
    assert.equal(spool.stats.durable, 1, 'the first sync covers the record written before it began');
    assert.equal(firstDurable, true);
    assert.equal(hook.calls, 2, 'one sync for the 200 records that waited');
    assert.equal(restDurable, false, 'not durable before their own sync');

    hook.release();
    await turn();
    assert.equal(spool.stats.durable, 201);
    assert.equal(restDurable, true);
    assert.equal(spool.stats.syncs, 2, '2 syncs for 201 records');
    const closing = spool.close();
    await closing;
    assert.equal(hook.calls, 2, 'close does not sync again what is synced');
  });

  test('group commit with the real fdatasync: far fewer syncs than records, at most one per write', async () => {
    let calls = 0;
    const spool = new Spool(dir, 'always', {
      sync: (fd) => {
        calls++;
        return new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err === null ? resolve() : reject(err))));
      },
    });
    const waits: Promise<void>[] = [];
    for (let t = 0; t < 50; t++) {
      for (let i = 0; i < 20; i++) spool.append(`{"t":${t},"i":${i}}`);
      waits.push(spool.durable());
      await turn();
    }
    await Promise.all(waits);
    assert.equal(spool.stats.durable, 1000);
    assert.equal(spool.stats.syncs, calls);
    assert.ok(calls <= spool.stats.writes && calls <= 50, `${calls} syncs for 1000 records in ${spool.stats.writes} writes`);
    await spool.seal();
    assert.equal(spool.read(spool.sealed[0]!).lines.length, 1000);
    await spool.close();
  });

  test('a seal while a sync runs: later lines start the next segment, and are durable only after a sync of their own', async () => {
    const hook = heldSync();
    const spool = new Spool(dir, 'always', { sync: hook.sync });
    spool.append('a');
    await spool.written();
    await turn();
    assert.equal(hook.calls, 1);
    const sealing = spool.seal();
    spool.append('b');
    await spool.written();
    assert.equal(spool.stats.durable, 0);
    hook.release(); // the group commit of 'a'
    await sealing; // 'a' was synced already: the seal only closes its segment
    assert.equal(spool.stats.durable, 1);
    await turn();
    assert.equal(hook.calls, 2, "then the group commit of 'b', in the next segment");
    assert.equal(spool.stats.durable, 1, "'b' is not durable before its sync");
    hook.release();
    await turn();
    assert.equal(spool.stats.durable, 2);
    assert.deepEqual(spool.read(spool.sealed[0]!).lines, ['a']);
    await spool.seal();
    assert.deepEqual(spool.read(spool.sealed[1]!).lines, ['b']);
    await spool.close();
  });
});
