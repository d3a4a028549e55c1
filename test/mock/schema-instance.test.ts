import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { schemaInstance } from '../../src/mock/schema-instance.js';

describe('a deterministic instance of a JSON schema', () => {
  test('types, required and optional properties, enum, const, nested objects', () => {
    const schema = {
      type: 'object',
      additionalProperties: false,
      required: ['s', 'i', 'n', 'b', 'e', 'c', 'o'],
      properties: {
        s: { type: 'string' },
        i: { type: 'integer' },
        n: { type: 'number' },
        b: { type: 'boolean' },
        e: { type: 'string', enum: ['first', 'second'] },
        c: { const: 'fixed' },
        o: { type: 'object', properties: { inner: { type: 'string' } }, required: ['inner'] },
        optional: { type: 'string' },
      },
    };
    assert.deepEqual(schemaInstance(schema), { s: 'mock-s', i: 42, n: 42, b: true, e: 'first', c: 'fixed', o: { inner: 'mock-inner' }, optional: 'mock-optional' });
  });

  test('arrays of minItems (at least one, at most maxItems), prefixItems', () => {
    assert.deepEqual(schemaInstance({ type: 'array', items: { type: 'integer' }, minItems: 3 }), [42, 42, 42]);
    assert.deepEqual(schemaInstance({ type: 'array', items: { type: 'string' } }), ['mock-value-0']);
    assert.deepEqual(schemaInstance({ type: 'array', items: { type: 'string' }, maxItems: 0 }), []);
    assert.deepEqual(schemaInstance({ type: 'array', prefixItems: [{ type: 'string' }, { type: 'boolean' }] }), ['mock-value-0', true]);
  });

  test('anyOf/oneOf take the first branch that is not null (nullable values are present); allOf merges', () => {
    assert.equal(schemaInstance({ anyOf: [{ type: 'null' }, { type: 'integer' }] }), 42);
    assert.equal(schemaInstance({ oneOf: [{ type: 'string', enum: ['a'] }, { type: 'integer' }] }), 'a');
    assert.equal(schemaInstance({ type: ['null', 'boolean'] }), true);
    assert.deepEqual(schemaInstance({ allOf: [{ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }, { properties: { b: { const: 1 } }, required: ['b'] }] }), { a: 42, b: 1 });
  });

  test('$ref to $defs and definitions; a recursive schema ends', () => {
    const schema = {
      type: 'object',
      properties: { home: { $ref: '#/$defs/Address' }, work: { $ref: '#/definitions/Address' } },
      required: ['home', 'work'],
      $defs: { Address: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      definitions: { Address: { type: 'object', properties: { zip: { type: 'string', minLength: 5, maxLength: 5 } }, required: ['zip'] } },
    };
    assert.deepEqual(schemaInstance(schema), { home: { city: 'mock-city' }, work: { zip: 'mock-' } });
    const tree = { $ref: '#/$defs/Node', $defs: { Node: { type: 'object', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/Node' } } }, required: ['name', 'children'] } } };
    const value = schemaInstance(tree) as { name: string; children: unknown[] };
    assert.equal(value.name, 'mock-name');
    assert.ok(JSON.stringify(value).length < 10_000);
  });

  test('string formats and lengths, number ranges', () => {
    assert.equal(schemaInstance({ type: 'string', format: 'date-time' }), '2026-01-01T00:00:00Z');
    assert.equal(schemaInstance({ type: 'string', format: 'email' }), 'mock@example.com');
    assert.equal(schemaInstance({ type: 'string', minLength: 20 }), 'mock-valuexxxxxxxxxx');
    assert.equal(schemaInstance({ type: 'integer', minimum: 100 }), 100);
    assert.equal(schemaInstance({ type: 'integer', maximum: 10 }), 10);
    assert.equal(schemaInstance({ type: 'integer', exclusiveMaximum: 10 }), 9);
    assert.equal(schemaInstance({ type: 'number', minimum: 0, maximum: 1 }), 1);
    assert.equal(schemaInstance({}), 'mock-value');
  });
});
