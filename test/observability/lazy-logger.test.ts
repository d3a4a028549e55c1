import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { lazyChildLogger } from '../../src/observability/lazy-logger.js';

function capture(level: string): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines: () => out.join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test("the request's logger writes with its bindings, at the parent's level, and only makes the child when it logs", () => {
  const { logger, lines } = capture('warn');
  let children = 0;
  const parent = Object.assign(Object.create(logger) as pino.Logger, {
    child: (...args: Parameters<pino.Logger['child']>) => {
      children++;
      return logger.child(...args);
    },
  });
  const log = lazyChildLogger(parent, { reqId: 'r-1' }, {});
  assert.equal(log.level, 'warn');
  log.info('not at this level');
  assert.equal(children, 1, 'a log call makes the child');
  const quiet = lazyChildLogger(parent, { reqId: 'r-2' }, {});
  assert.equal(quiet.level, 'warn');
  assert.equal(children, 1, 'reading the level makes no child');
  log.error({ err: new Error('boom') }, 'failed');
  log.warn('careful %s', 'now');
  const got = lines();
  assert.equal(got.length, 2);
  assert.equal(got[0]!.reqId, 'r-1');
  assert.equal(got[0]!.msg, 'failed');
  assert.equal((got[0]!.err as { message: string }).message, 'boom');
  assert.equal(got[1]!.msg, 'careful now');
  const grandchild = log.child({ extra: 1 });
  grandchild.warn('deeper');
  assert.deepEqual([lines()[2]!.reqId, lines()[2]!.extra], ['r-1', 1]);
});
