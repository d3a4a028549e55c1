import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { parseDuration, parseSize } from '../../src/lib/units.js';
import { compileGlob, isGlob } from '../../src/lib/glob.js';
import { Secret } from '../../src/lib/secret.js';

describe('parseDuration', () => {
  test('units: ms, s, m, h, d, w', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    assert.equal(parseDuration('1w'), 604_800_000);
    assert.equal(parseDuration('0s'), 0);
  });

  test('fractions are converted and rounded to whole milliseconds', () => {
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('0.25m'), 15_000);
    assert.equal(parseDuration('1.0005s'), 1001);
  });

  test('units are case-insensitive; surrounding and inner whitespace is allowed', () => {
    assert.equal(parseDuration('30S'), 30_000);
    assert.equal(parseDuration('250MS'), 250);
    assert.equal(parseDuration('  10 s '), 10_000);
  });

  test('a number is already milliseconds and passes through', () => {
    assert.equal(parseDuration(250), 250);
    assert.equal(parseDuration(0), 0);
    assert.equal(parseDuration(1.5), 1.5);
  });

  test('negative or non-finite numbers are invalid', () => {
    assert.equal(parseDuration(-1), null);
    assert.equal(parseDuration(Number.NaN), null);
    assert.equal(parseDuration(Number.POSITIVE_INFINITY), null);
  });

  test('invalid strings give null', () => {
    for (const s of ['', 'abc', '10', '-5s', '5 minutes', '1.5.2s', 's', '1e3ms', '5y', '.5s']) {
      assert.equal(parseDuration(s), null, JSON.stringify(s));
    }
  });
});

describe('parseSize', () => {
  test('units: b, k/kb, m/mb, g/gb (binary multiples)', () => {
    assert.equal(parseSize('4mb'), 4_194_304);
    assert.equal(parseSize('4m'), 4_194_304);
    assert.equal(parseSize('512kb'), 524_288);
    assert.equal(parseSize('2k'), 2048);
    assert.equal(parseSize('1g'), 1_073_741_824);
    assert.equal(parseSize('1gb'), 1_073_741_824);
    assert.equal(parseSize('10b'), 10);
  });

  test('case-insensitive, whitespace allowed, fractions floored to whole bytes', () => {
    assert.equal(parseSize('4 MB'), 4_194_304);
    assert.equal(parseSize('1.5kb'), 1536);
    assert.equal(parseSize('1.0001kb'), 1024);
  });

  test('a number is already bytes and must be a non-negative integer', () => {
    assert.equal(parseSize(1024), 1024);
    assert.equal(parseSize(0), 0);
    assert.equal(parseSize(1.5), null);
    assert.equal(parseSize(-1), null);
    assert.equal(parseSize(Number.NaN), null);
  });

  test('invalid strings give null', () => {
    for (const s of ['', 'lots', '4', '-4mb', '4tb', 'mb', '4 mega']) {
      assert.equal(parseSize(s), null, JSON.stringify(s));
    }
  });
});

describe('glob', () => {
  test('isGlob detects * and ?', () => {
    assert.equal(isGlob('gpt-4o*'), true);
    assert.equal(isGlob('claude-?'), true);
    assert.equal(isGlob('gpt-4o'), false);
    assert.equal(isGlob('llama-3(70b)'), false);
  });

  test('* matches any run (including empty), ? exactly one character, anchored', () => {
    const star = compileGlob('gpt-4o*');
    assert.equal(star.test('gpt-4o'), true);
    assert.equal(star.test('gpt-4o-mini'), true);
    assert.equal(star.test('xgpt-4o'), false);
    const q = compileGlob('claude-?');
    assert.equal(q.test('claude-3'), true);
    assert.equal(q.test('claude-'), false);
    assert.equal(q.test('claude-35'), false);
    assert.equal(compileGlob('*').test(''), true);
    assert.equal(compileGlob('*').test('a\nb'), true);
  });

  test('regex metacharacters are literal', () => {
    assert.equal(compileGlob('a.b*').test('a.b-1'), true);
    assert.equal(compileGlob('a.b*').test('axb-1'), false);
    assert.equal(compileGlob('llama-3(70b)*').test('llama-3(70b)-chat'), true);
    assert.equal(compileGlob('llama-3(70b)*').test('llama-370b-chat'), false);
    assert.equal(compileGlob('a|b*').test('b'), false);
    assert.equal(compileGlob('a|b*').test('a|bc'), true);
    assert.equal(compileGlob('[ab]*').test('a'), false);
    assert.equal(compileGlob('[ab]*').test('[ab]x'), true);
    assert.equal(compileGlob('c++?').test('c++1'), true);
    assert.equal(compileGlob('c++?').test('cc1'), false);
    assert.equal(compileGlob('x$y^{2}*').test('x$y^{2}z'), true);
    assert.equal(compileGlob('a\\b*').test('a\\bc'), true);
    assert.equal(compileGlob('a\\b*').test('ab'), false);
  });
});

describe('Secret', () => {
  const secret = new Secret('sk-live-123');

  test('reveal() gives the value', () => {
    assert.equal(secret.reveal(), 'sk-live-123');
  });

  test('prints, serialises and inspects as [redacted]', () => {
    assert.equal(String(secret), '[redacted]');
    assert.equal(`${secret}`, '[redacted]');
    assert.equal(JSON.stringify(secret), '"[redacted]"');
    assert.equal(JSON.stringify({ apiKey: secret }), '{"apiKey":"[redacted]"}');
    assert.equal(inspect(secret), '[redacted]');
    assert.equal(inspect({ apiKey: secret }), '{ apiKey: [redacted] }');
  });

  test('the value is not reachable through enumeration', () => {
    assert.deepEqual(Object.keys(secret), []);
    assert.deepEqual(Object.getOwnPropertyNames(secret), []);
    assert.equal(inspect(secret, { showHidden: true, depth: null }).includes('sk-live'), false);
  });
});
