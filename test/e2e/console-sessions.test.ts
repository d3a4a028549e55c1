import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import type { Page } from 'playwright-core';
import { artifactsDir, launchChromium, type Browser } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';
import { waitFor } from '../helpers/wait.js';

// Issue 22: the console's Sessions page in headless chromium. A JWT the data plane accepts is
// revoked through the console (one session, then "sign out everywhere"), after a confirmation,
// and is then refused; the revocations are in the audit log. A viewer sees the form disabled,
// and when it is sent anyway the API's 403 is shown with its code. Waits poll from the test
// (the console's CSP forbids page.waitForFunction's evaluated text).

const SECRET = 'a-very-long-hmac-secret-of-at-least-32-chars';
const ADMIN = 'admin-token-sessions-0123456789';
const KEYS_ROLE = 'keys-token-sessions-0123456789';
const VIEWER = 'viewer-token-sessions-0123456789';

function jwt(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + 900).sign(new TextEncoder().encode(SECRET));
}

describe('the console revokes JWT sessions', () => {
  let gw: TestGateway;
  let browser: Browser;
  const shots = artifactsDir('console');
  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const chat = async (bearer: string): Promise<number> => (await req.chat(gw, req.chatBody('mock-1', 'rank these brands'), { bearer })).status;

  before(async () => {
    gw = await startGateway({
      admin: { tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }, { name: 'auth-desk', token: KEYS_ROLE, role: 'keys' }, { name: 'watcher', token: VIEWER, role: 'viewer' }] },
      database: { embedded: 'memory' },
      auth: { required: true, jwt: { secret: SECRET, revocation: true } },
      providers: { mock: { type: 'mock' } },
      routes: [{ name: 'rank', match: '*', targets: [{ provider: 'mock' }] }],
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
  });

  const openSessions = async (token: string): Promise<Page> => {
    const page = await browser.context.newPage();
    await page.goto(`${gw.url}/console`);
    await page.fill('#token', token);
    await page.click('#signin-submit');
    await page.waitForSelector('#signout');
    await page.goto(`${gw.url}/console#/sessions`);
    await page.waitForSelector('#sessions-form');
    return page;
  };
  const text = async (page: Page, selector: string): Promise<string> => ((await page.locator(selector).count()) === 0 ? '' : ((await page.textContent(selector)) ?? ''));

  test('a keys-role operator revokes a session, then signs a user out everywhere; the data plane refuses those tokens at once', async () => {
    const s1 = await jwt({ sub: 'ann', sid: 'ann-laptop' });
    const s2 = await jwt({ sub: 'ann', sid: 'ann-phone' });
    const bob = await jwt({ sub: 'bob', sid: 'bob-laptop' });
    for (const t of [s1, s2, bob]) assert.equal(await chat(t), 200);

    const page = await openSessions(KEYS_ROLE);
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    assert.equal(await page.isDisabled('#sessions-submit'), false);
    await page.fill('#sessions-value', 'ann-laptop');

    // Dismissing the confirmation revokes nothing.
    const asked: string[] = [];
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await page.click('#sessions-submit');
    await page.waitForSelector('#sessions-cancelled');
    assert.match(asked[0] ?? '', /Revoke session "ann-laptop"\?/);
    assert.equal(await chat(s1), 200);

    page.once('dialog', (d) => void d.accept());
    await page.click('#sessions-submit');
    await page.waitForSelector('#sessions-done');
    assert.match(await text(page, '#sessions-done'), /Session "ann-laptop" revoked/);
    await shot(page, '08-session-revoked');
    const refused = await req.chatJson(gw, req.chatBody('mock-1', 'again'), { bearer: s1 });
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error?.code, 'SLUICE_ERR_UNAUTHORIZED');
    assert.match(String(refused.json.error?.message), /session was revoked/);
    assert.equal(await chat(s2), 200);

    // Sign out everywhere: every token of ann issued up to now; bob is untouched.
    await page.selectOption('#sessions-kind', 'user');
    await page.fill('#sessions-value', 'ann');
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.accept();
    });
    await page.click('#sessions-submit');
    await waitFor(async () => /signed out everywhere/.test(await text(page, '#sessions-done')), 'the sign-out to be reported');
    assert.match(asked[1] ?? '', /Sign out user "ann" everywhere\?/);
    assert.equal(await chat(s2), 401);
    assert.equal(await chat(bob), 200);

    // Both revocations are audited (who, what) and listed on the page.
    await waitFor(async () => (await text(page, '#sessions-recent')).includes('every session of user ann'), 'the recent revocations');
    const recent = await text(page, '#sessions-recent');
    assert.match(recent, /auth-desk/);
    assert.match(recent, /session ann-laptop/);
    const audit = await req.sendJson<{ data: { actor: string; role: string; action: string; status: number; detail: string | null }[] }>(gw, '/admin/audit', { bearer: ADMIN });
    const revocations = audit.json.data.filter((e) => e.action === '/admin/sessions/revoke');
    assert.deepEqual(
      revocations.map((e) => [e.actor, e.role, e.status, e.detail]),
      [
        ['auth-desk', 'keys', 200, '{"user":"ann"}'],
        ['auth-desk', 'keys', 200, '{"session":"ann-laptop"}'],
      ],
    );
    await shot(page, '09-user-signed-out');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a viewer sees the form disabled, and a revocation sent anyway shows the 403 and revokes nothing', async () => {
    const carol = await jwt({ sub: 'carol', sid: 'carol-laptop' });
    assert.equal(await chat(carol), 200);
    const page = await openSessions(VIEWER);
    assert.equal(await page.isDisabled('#sessions-submit'), true);
    assert.match(await text(page, '#sessions-role'), /Your role \(viewer\) may not revoke sessions/);
    await shot(page, '10-viewer-sessions');
    // What the page disables, the API refuses: enable the fields as a tampering user could.
    await page.evaluate("document.getElementById('sessions-fields').disabled = false");
    await page.selectOption('#sessions-kind', 'user');
    await page.fill('#sessions-value', 'carol');
    page.once('dialog', (d) => void d.accept());
    await page.click('#sessions-submit');
    await page.waitForSelector('#sessions-error');
    assert.match(await text(page, '#sessions-error'), /^Refused: your role may not revoke sessions\. 403 SLUICE_ERR_ADMIN_FORBIDDEN: /);
    assert.equal(await chat(carol), 200);
    await page.close();
  });

  test('with revocation off the page says so and offers no form', async () => {
    const off = await startGateway({
      admin: { tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] },
      database: { embedded: 'memory' },
      auth: { jwt: { secret: SECRET } },
      providers: { mock: { type: 'mock' } },
      routes: [{ match: '*', targets: [{ provider: 'mock' }] }],
    });
    try {
      const page = await browser.context.newPage();
      await page.goto(`${off.url}/console`);
      await page.fill('#token', ADMIN);
      await page.click('#signin-submit');
      await page.waitForSelector('#signout');
      await page.goto(`${off.url}/console#/sessions`);
      await page.waitForSelector('#sessions-off');
      assert.match(await text(page, '#sessions-off'), /auth\.jwt\.revocation: true/);
      assert.equal(await page.locator('#sessions-form').count(), 0);
      await page.close();
    } finally {
      await off.close();
    }
  });
});
