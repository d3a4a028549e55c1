import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Provider from 'oidc-provider';
import type { Page } from 'playwright-core';
import { artifactsDir, launchChromium, type Browser } from '../helpers/browser.js';
import { deadPort } from '../helpers/backends.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';
import { waitFor } from '../helpers/wait.js';

// Issue 20: console sign-in through OpenID Connect, against a local provider (oidc-provider
// on port 0 with its development login page): authorization code with PKCE, the role from a
// claim, a signed session cookie the admin API accepts, CSRF on changes, the audit actor.

const CLIENT_SECRET = 'console-client-secret-0123456789';
const ADMIN_TOKEN = 'admin-token-oidc-test-0123456789';

/** The accounts of the local provider: anyone may sign in with any password; their groups differ. */
const GROUPS: Readonly<Record<string, readonly string[]>> = { ana: ['sluice-admins', 'staff'], vic: ['staff', 'sluice-viewers'], nobody: ['staff'] };

describe('console sign-in with OpenID Connect', () => {
  let issuer: http.Server;
  let issuerUrl: string;
  let gw: TestGateway;
  let browser: Browser;
  const shots = artifactsDir('console');

  before(async () => {
    // The provider must name the gateway's redirect URL and the gateway the provider's
    // issuer: the provider's server listens first, the gateway on a port chosen before.
    let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
    issuer = http.createServer((rq, rs) => handler(rq, rs));
    await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
    issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
    const gatewayPort = await deadPort();
    const redirectUrl = `http://127.0.0.1:${gatewayPort}/console/callback`;
    const provider = new Provider(issuerUrl, {
      clients: [{ client_id: 'sluice-console', client_secret: CLIENT_SECRET, redirect_uris: [redirectUrl], grant_types: ['authorization_code'], response_types: ['code'] }],
      findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, email: `${id}@example.test`, groups: [...(GROUPS[id] ?? [])] }) }),
      claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
      scopes: ['openid', 'email', 'groups'],
      pkce: { required: () => true },
      cookies: { keys: ['oidc-provider-test-cookie-key-0123456789'] },
      features: { devInteractions: { enabled: true } },
    });
    handler = provider.callback();
    gw = await startGateway(
      {
        admin: {
          tokens: [ADMIN_TOKEN],
          oidc: { issuer: issuerUrl, clientId: 'sluice-console', clientSecret: CLIENT_SECRET, redirectUrl, scopes: ['openid', 'email', 'groups'], roleClaim: 'groups', roles: { 'sluice-admins': 'admin', 'sluice-viewers': 'viewer' }, sessionTtl: '1h', insecureLoopbackIssuer: true },
        },
        database: { embedded: 'memory' },
        providers: { mock: { type: 'mock' } },
        routes: [{ match: '*', targets: [{ provider: 'mock' }] }],
      },
      {},
      { port: gatewayPort },
    );
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    issuer?.closeAllConnections();
    await new Promise((resolve) => issuer?.close(resolve));
  });

  /** Through the provider's login (and consent) pages back to the gateway. */
  const signInAt = async (page: Page, login: string): Promise<void> => {
    await page.goto(`${gw.url}/console`);
    await page.click('#signin-oidc');
    await page.waitForSelector('input[name="login"]');
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', 'any password');
    await page.click('button[type="submit"]');
    // The consent page comes once per account and client; then back at the gateway.
    await waitFor(async () => page.url().startsWith(gw.url) || (await page.locator('button.login-submit, button[autofocus]').count()) > 0, 'the consent page or the gateway');
    if (!page.url().startsWith(gw.url)) await page.click('button[type="submit"]');
    await waitFor(async () => page.url().startsWith(gw.url), 'the redirect back to the gateway');
  };

  test('the sign-in page offers single sign-on only when configured', async () => {
    assert.deepEqual((await req.sendJson(gw, '/console/auth')).json, { oidc: true });
  });

  test('an admin account signs in through the provider; the session cookie works with the CSRF header only', async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await signInAt(page, 'ana');
    await page.waitForSelector('#signout');
    assert.equal(await page.textContent('#who'), 'ana@example.test (admin)Sign out');
    await page.screenshot({ path: join(shots, '10-oidc-signed-in.png'), fullPage: true });
    // The session is a cookie the page cannot read; no token is stored in the tab.
    assert.equal(await page.evaluate<string>('document.cookie'), '');
    assert.equal(await page.evaluate<string | null>("sessionStorage.getItem('sluice.adminToken')"), null);
    const cookies = await page.context().cookies(gw.url);
    const session = cookies.find((c) => c.name === 'sluice_console')!;
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.secure, false);

    // A change with the cookie but without the CSRF header is refused; with it, done.
    const without = await page.evaluate<{ status: number; code: string }>(
      "fetch('/admin/keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'no-csrf' }) }).then(async (r) => ({ status: r.status, code: (await r.json()).error.code }))",
    );
    assert.deepEqual(without, { status: 403, code: 'SLUICE_ERR_ADMIN_CSRF' });
    await page.goto(`${gw.url}/console#/keys`);
    await page.fill('#key-name', 'by-ana');
    await page.click('#key-create-submit');
    assert.match(String(await page.textContent('#new-key-secret')), /^sk-/);

    // The audit log names the account.
    const audit = await req.sendJson<{ data: { actor: string; action: string; status: number }[] }>(gw, '/admin/audit', { bearer: ADMIN_TOKEN });
    const created = audit.json.data.find((e) => e.action === '/admin/keys' && e.status === 201)!;
    assert.equal(created.actor, 'ana@example.test');
    assert.ok(audit.json.data.some((e) => e.actor === 'ana@example.test' && e.status === 403));

    // Signing out deletes the cookie: the API no longer accepts the browser.
    await page.click('#signout');
    await page.waitForSelector('#signin');
    assert.equal(await page.evaluate<number>("fetch('/admin/me').then((r) => r.status)"), 401);
    await page.close();
  });

  test('a viewer account sees no create button; an account without a mapped group is refused', async () => {
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    await signInAt(page, 'vic');
    await page.waitForSelector('#signout');
    assert.equal(await page.textContent('#who'), 'vic@example.test (viewer)Sign out');
    await page.goto(`${gw.url}/console#/keys`);
    await page.waitForSelector('#keys-table');
    assert.equal(await page.locator('#key-create').count(), 0);
    await page.close();

    // Each account signs in afresh: no provider session carries over.
    await browser.context.clearCookies();
    const refused = await browser.context.newPage();
    await signInAt(refused, 'nobody');
    assert.match(String(await refused.textContent('body')), /SLUICE_ERR_OIDC_NO_ROLE/);
    await refused.screenshot({ path: join(shots, '11-oidc-no-role.png') });
    await refused.close();
  });

  test('a callback without a sign-in started here is refused', async () => {
    const r = await req.sendJson(gw, '/console/callback?code=abc&state=def');
    assert.equal(r.status, 401);
    assert.equal(r.json.error?.code, 'SLUICE_ERR_OIDC_SIGNIN');
    const forged = await req.sendJson(gw, '/console/callback?code=abc&state=def', { headers: { cookie: 'sluice_console_login=eyJzdGF0ZSI6ImRlZiJ9.AAAA' } });
    assert.equal(forged.status, 401);
    assert.equal((await req.send(gw, '/admin/me', { headers: { cookie: 'sluice_console=eyJzdWIiOiJ4In0.AAAA' } })).status, 401);
  });
});
