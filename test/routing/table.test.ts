import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompiledRoute } from '../../src/config/compile.js';
import { RouteTable } from '../../src/routing/table.js';
import { compiledRoute } from '../helpers/routes.js';

const route = (name: string, patterns: string[], models: (string | null)[] = [null]): CompiledRoute => compiledRoute(name, patterns, models);

const nameOf = (table: RouteTable, model: string): string | null => table.match(model)?.name ?? null;

describe('RouteTable.match', () => {
  test('exact match returns the route object itself', () => {
    const r = route('r', ['gpt-4o']);
    const table = new RouteTable([route('other', ['x']), r]);
    assert.equal(table.match('gpt-4o'), r);
    assert.equal(nameOf(table, 'x'), 'other');
  });

  test('no match gives null', () => {
    const table = new RouteTable([route('r', ['gpt-4o']), route('g', ['claude-*'])]);
    assert.equal(table.match('gpt-4'), null);
    assert.equal(table.match('gpt-4o-mini'), null);
    assert.equal(table.match(''), null);
    assert.equal(new RouteTable([]).match('anything'), null);
  });

  test('glob with * matches prefixes (including the bare prefix), anchored at both ends', () => {
    const table = new RouteTable([route('g', ['gpt-4o*'])]);
    assert.equal(nameOf(table, 'gpt-4o'), 'g');
    assert.equal(nameOf(table, 'gpt-4o-mini'), 'g');
    assert.equal(nameOf(table, 'gpt-4o-2024-08-06'), 'g');
    assert.equal(nameOf(table, 'my-gpt-4o'), null);
    assert.equal(nameOf(table, 'gpt-4'), null);
  });

  test('glob with ? matches exactly one character', () => {
    const table = new RouteTable([route('q', ['claude-?-sonnet'])]);
    assert.equal(nameOf(table, 'claude-3-sonnet'), 'q');
    assert.equal(nameOf(table, 'claude--sonnet'), null);
    assert.equal(nameOf(table, 'claude-35-sonnet'), null);
  });

  test('regex special characters are literal', () => {
    const table = new RouteTable([
      route('dot', ['a.b']),
      route('parens', ['llama-3(70b)']),
      route('dotglob', ['x.y*']),
      route('plus', ['c++?']),
      route('bracket', ['[m]*']),
      route('pipe', ['u|v']),
    ]);
    assert.equal(nameOf(table, 'a.b'), 'dot');
    assert.equal(nameOf(table, 'axb'), null);
    assert.equal(nameOf(table, 'llama-3(70b)'), 'parens');
    assert.equal(nameOf(table, 'llama-370b'), null);
    assert.equal(nameOf(table, 'x.y-1'), 'dotglob');
    assert.equal(nameOf(table, 'xzy-1'), null);
    assert.equal(nameOf(table, 'c++1'), 'plus');
    assert.equal(nameOf(table, 'cc1'), null);
    assert.equal(nameOf(table, '[m]odel'), 'bracket');
    assert.equal(nameOf(table, 'model'), null);
    assert.equal(nameOf(table, 'u|v'), 'pipe');
    assert.equal(nameOf(table, 'u'), null);
  });

  test('exact declared before a matching glob: the exact route wins', () => {
    const table = new RouteTable([route('exact', ['gpt-4o']), route('glob', ['gpt-4o*'])]);
    assert.equal(nameOf(table, 'gpt-4o'), 'exact');
    assert.equal(nameOf(table, 'gpt-4o-mini'), 'glob');
  });

  test('glob declared before a matching exact: the glob route wins', () => {
    const table = new RouteTable([route('glob', ['gpt-4o*']), route('exact', ['gpt-4o'])]);
    assert.equal(nameOf(table, 'gpt-4o'), 'glob');
  });

  test('a later glob does not shadow an earlier exact; an earlier non-matching glob is skipped', () => {
    const table = new RouteTable([route('claude', ['claude-*']), route('exact', ['gpt-4o']), route('all', ['*'])]);
    assert.equal(nameOf(table, 'gpt-4o'), 'exact');
    assert.equal(nameOf(table, 'claude-3'), 'claude');
    assert.equal(nameOf(table, 'other'), 'all');
  });

  test('the first of two matching globs wins; the first of two identical exact patterns wins', () => {
    const table = new RouteTable([route('g1', ['gpt-*']), route('g2', ['gpt-4*']), route('e1', ['x']), route('e2', ['x'])]);
    assert.equal(nameOf(table, 'gpt-4o'), 'g1');
    assert.equal(nameOf(table, 'x'), 'e1');
  });

  test('a route with several patterns matches on any of them', () => {
    const multi = route('multi', ['alpha', 'beta-*', 'gamma-?']);
    const table = new RouteTable([multi, route('rest', ['*'])]);
    assert.equal(table.match('alpha'), multi);
    assert.equal(table.match('beta-2'), multi);
    assert.equal(table.match('gamma-1'), multi);
    assert.equal(nameOf(table, 'gamma-12'), 'rest');
    assert.equal(nameOf(table, 'alphabet'), 'rest');
  });
});

describe('RouteTable.models', () => {
  test('lists exact patterns and target models that route back, in order, without duplicates', () => {
    const table = new RouteTable([
      route('gpt', ['gpt-4o*'], ['gpt-4o']),
      route('mini', ['mini', 'gpt-4o-mini'], ['gpt-4o-mini']),
      route('x', ['x'], ['unrouted-model']),
      route('claude', ['claude-?'], [null, 'claude-3']),
      route('dup', ['mini'], ['x']),
    ]);
    assert.deepEqual(table.models(), ['gpt-4o', 'mini', 'gpt-4o-mini', 'x', 'claude-3']);
  });

  test('the default routing lists only mock-1', () => {
    const table = new RouteTable([route('mock-1', ['mock-1'], ['mock-1']), route('default', ['*'])]);
    assert.deepEqual(table.models(), ['mock-1']);
  });

  test('globs alone list nothing', () => {
    assert.deepEqual(new RouteTable([route('g', ['gpt-*']), route('all', ['*'])]).models(), []);
  });
});
