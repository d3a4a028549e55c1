import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CookieSigner, cookieOf, sameText, setCookie } from '../../src/control/admin-session.js';

// Issue 20: the signed cookies of console sessions (OIDC sign-in).

test('a signed value verifies; a changed body, signature or another purpose does not', () => {
  const sessions = new CookieSigner('client-secret-0123456789', 'session');
  const text = sessions.sign({ sub: 'ana', role: 'admin' });
  assert.deepEqual(sessions.verify(text), { sub: 'ana', role: 'admin' });
  const [body, mac] = text.split('.') as [string, string];
  const forged = Buffer.from(JSON.stringify({ sub: 'ana', role: 'admin', x: 1 })).toString('base64url');
  assert.equal(sessions.verify(`${forged}.${mac}`), null);
  assert.equal(sessions.verify(`${body}.${mac.slice(0, -2)}AA`), null);
  assert.equal(sessions.verify(body), null);
  assert.equal(sessions.verify(''), null);
  // The sign-in cookie's key is not the session's: one is never taken for the other.
  assert.equal(new CookieSigner('client-secret-0123456789', 'login').verify(text), null);
  assert.equal(new CookieSigner('another-secret-0123456789', 'session').verify(text), null);
});

test('cookies are read by name and written HttpOnly with their SameSite and Secure', () => {
  assert.equal(cookieOf({ cookie: 'a=1; sluice_console=abc.def; b=2' }, 'sluice_console'), 'abc.def');
  assert.equal(cookieOf({ cookie: 'xsluice_console=1' }, 'sluice_console'), null);
  assert.equal(cookieOf({}, 'sluice_console'), null);
  assert.equal(setCookie('s', 'v', { path: '/', maxAgeS: 60, sameSite: 'Strict', secure: true }), 's=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure');
  assert.equal(setCookie('s', '', { path: '/x', maxAgeS: 0, sameSite: 'Lax', secure: false }), 's=; Path=/x; Max-Age=0; HttpOnly; SameSite=Lax');
  assert.equal(sameText('abc', 'abc'), true);
  assert.equal(sameText('abc', 'abd'), false);
  assert.equal(sameText('abc', 'abcd'), false);
});
