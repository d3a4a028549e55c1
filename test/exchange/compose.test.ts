import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compiledRoute } from '../helpers/routes.js';
import { compose, type Stage } from '../../src/exchange/compose.js';
import { RequestContext } from '../../src/exchange/context.js';

const route = compiledRoute('r', ['m']);
const context = (): RequestContext => new RequestContext('req-1', 'chat', { model: 'm', messages: [] }, route, 0);

/** A stage that records when it runs, before and after next. */
function recorder(name: string, log: string[]): Stage {
  return {
    name,
    async run(ctx, next) {
      log.push(`${name}:before`);
      await next(ctx);
      log.push(`${name}:after`);
    },
  };
}

describe('compose', () => {
  test('stages run in order, each before and after next (onion order)', async () => {
    const log: string[] = [];
    await compose([recorder('a', log), recorder('b', log), recorder('c', log)])(context());
    assert.deepEqual(log, ['a:before', 'b:before', 'c:before', 'c:after', 'b:after', 'a:after']);
  });

  test('every stage gets the same context, and can see what earlier/later stages set', async () => {
    const ctx = context();
    const seen: unknown[] = [];
    const setter: Stage = {
      name: 'set',
      async run(c, next) {
        c.status = 201;
        await next(c);
        seen.push(c.errorCode);
      },
    };
    const reader: Stage = {
      name: 'read',
      async run(c, next) {
        seen.push(c === ctx, c.status);
        c.errorCode = 'SLUICE_ERR_INTERNAL';
        await next(c);
      },
    };
    await compose([setter, reader])(ctx);
    assert.deepEqual(seen, [true, 201, 'SLUICE_ERR_INTERNAL']);
  });

  test('a stage that does not call next short-circuits the rest', async () => {
    const log: string[] = [];
    const stop: Stage = {
      name: 'stop',
      async run() {
        log.push('stop');
      },
    };
    await compose([recorder('a', log), stop, recorder('never', log)])(context());
    assert.deepEqual(log, ['a:before', 'stop', 'a:after']);
  });

  test('an empty list resolves and does nothing', async () => {
    const ctx = context();
    assert.equal(await compose([])(ctx), undefined);
    assert.equal(ctx.status, 0);
  });

  test('an error thrown by a stage propagates through earlier stages, skipping their after part', async () => {
    const log: string[] = [];
    const boom = new Error('boom');
    const failing: Stage = {
      name: 'fail',
      async run() {
        throw boom;
      },
    };
    await assert.rejects(compose([recorder('a', log), failing, recorder('never', log)])(context()), (err) => err === boom);
    assert.deepEqual(log, ['a:before']);
  });

  test('an earlier stage can catch an error from a later one', async () => {
    const log: string[] = [];
    const catcher: Stage = {
      name: 'catch',
      async run(ctx, next) {
        try {
          await next(ctx);
        } catch (err) {
          log.push(`caught ${(err as Error).message}`);
        }
      },
    };
    const failing: Stage = {
      name: 'fail',
      run() {
        return Promise.reject(new Error('late'));
      },
    };
    await compose([catcher, failing])(context());
    assert.deepEqual(log, ['caught late']);
  });

  test('the composed chain can be run many times', async () => {
    const log: string[] = [];
    const run = compose([recorder('a', log)]);
    await run(context());
    await run(context());
    assert.deepEqual(log, ['a:before', 'a:after', 'a:before', 'a:after']);
  });

  test('RequestContext reads model, stream and include_usage from the body', () => {
    const ctx = new RequestContext('id', 'chat', { model: 'm', stream: true, stream_options: { include_usage: true } }, route, 5);
    assert.equal(ctx.model, 'm');
    assert.equal(ctx.stream, true);
    assert.equal(ctx.includeUsage, true);
    assert.equal(ctx.startedAt, 5);
    assert.equal(ctx.route, route);
    const noStream = new RequestContext('id', 'chat', { model: 'm', stream_options: { include_usage: true } }, route, 0);
    assert.equal(noStream.stream, false);
    assert.equal(noStream.includeUsage, false);
  });
});
