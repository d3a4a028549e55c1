import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { test } from 'node:test';
import { Cancellation, abortSignalOf } from '../../src/lib/cancel.js';

test('listeners run once each, in order, synchronously in abort(); a removed one does not', () => {
  const c = new Cancellation();
  const log: string[] = [];
  const a = (): void => void log.push('a');
  const removed = (): void => void log.push('removed');
  const obj = { handleEvent: (): void => void log.push('obj') };
  c.addEventListener('abort', a);
  c.addEventListener('abort', a); // added twice: still once, as EventTarget does
  c.addEventListener('abort', removed);
  c.addEventListener('abort', obj);
  c.removeEventListener('abort', removed);
  assert.equal(c.aborted, false);
  const reason = new Error('gone');
  c.abort(reason);
  assert.deepEqual(log, ['a', 'obj']);
  assert.equal(c.aborted, true);
  assert.equal(c.reason, reason);
  c.abort(new Error('again'));
  assert.deepEqual(log, ['a', 'obj'], 'a second abort changes nothing');
  assert.equal(c.reason, reason);
  c.addEventListener('abort', a);
  assert.deepEqual(log, ['a', 'obj'], 'a listener added after the abort is not called');
});

test('the real AbortSignal is made on demand and follows the cancellation, before or after', async () => {
  const before = new Cancellation();
  const signal = before.signal;
  assert.equal(before.signal, signal, 'one signal per cancellation');
  const ee = new EventEmitter();
  const waiting = once(ee, 'never', { signal });
  before.abort(new Error('stop'));
  assert.equal(signal.aborted, true);
  assert.equal((signal.reason as Error).message, 'stop');
  await assert.rejects(waiting, { name: 'AbortError' });

  const after = new Cancellation();
  after.abort('late');
  assert.equal(after.signal.aborted, true);
  assert.equal(after.signal.reason, 'late');
});

test('abortSignalOf passes a real AbortSignal through and bridges a Cancellation', () => {
  const ac = new AbortController();
  assert.equal(abortSignalOf(ac.signal), ac.signal);
  const c = new Cancellation();
  assert.equal(abortSignalOf(c), c.signal);
});
