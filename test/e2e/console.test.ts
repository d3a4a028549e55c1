import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { artifactsDir, launchChromium, type Browser } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import * as req from '../helpers/requests.js';
import { waitFor } from '../helpers/wait.js';

// Issue 20: the web console end to end in headless chromium: sign in with a token, watch
// live requests arrive, create a key and use it, purge the cache, read the audit entry; a
// viewer sees no create button and the API refuses it anyway. Waits poll from the test
// (page.waitForFunction would evaluate text in the page, which the console's CSP forbids).

const ADMIN = 'admin-token-console-0123456789';
const VIEWER = 'viewer-token-console-0123456789';
const CLIENT_KEY = 'sk-console-client-0123456789';

describe('the web console', () => {
  let gw: TestGateway;
  let browser: Browser;
  let dir: string;
  const shots = artifactsDir('console');
  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-console-'));
    gw = await startGateway({
      admin: { tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }, { name: 'watcher', token: VIEWER, role: 'viewer' }] },
      database: { embedded: 'memory' },
      usage: { spoolDir: join(dir, 'spool'), flushInterval: '20ms' },
      auth: { required: true },
      keys: [{ name: 'client', key: CLIENT_KEY }],
      providers: { mock: { type: 'mock' } },
      routes: [{ name: 'chat', match: '*', cache: { ttl: '1m' }, targets: [{ provider: 'mock' }] }],
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const signIn = async (page: Page, token: string): Promise<void> => {
    await page.goto(`${gw.url}/console`);
    await page.fill('#token', token);
    await page.click('#signin-submit');
    await page.waitForSelector('#signout');
  };

  test('serves the page and its modules with their content types, cache headers and a strict CSP', async () => {
    const page = await req.send(gw, '/console');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.headers['cache-control'], 'no-store');
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.doesNotMatch(page.text, /<script>|<style|style=|https?:\/\//);
    const main = await req.send(gw, '/console/assets/main.js');
    assert.equal(main.status, 200);
    assert.match(String(main.headers['content-type']), /^text\/javascript/);
    assert.equal(main.headers['cache-control'], 'no-cache');
    const etag = String(main.headers.etag);
    assert.equal((await req.send(gw, '/console/assets/main.js', { headers: { 'if-none-match': etag } })).status, 304);
    assert.match(String((await req.send(gw, '/console/assets/console.css')).headers['content-type']), /^text\/css/);
    assert.equal((await req.send(gw, '/console/assets/pages/keys.ts')).status, 404);
    assert.equal((await req.send(gw, '/console/assets/../../package.json')).status, 404);
  });

  test('an admin signs in, watches live traffic, creates and uses a key, purges the cache and reads the audit log', async () => {
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    // Failed loads are expected (the sign-in probe's 401, /admin/usage's 404 with usage off); script errors are not.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
    });
    await signIn(page, ADMIN);
    assert.equal(await page.textContent('#who'), 'ops (admin)Sign out');
    // The token stays in this tab's sessionStorage, never in the address.
    assert.equal(page.url().includes(ADMIN), false);
    assert.equal(await page.evaluate<string | null>("sessionStorage.getItem('sluice.adminToken')"), ADMIN);

    await page.waitForSelector('#traffic-requests');
    for (let i = 0; i < 4; i++) assert.equal((await req.chat(gw, req.chatBody('mock-1', `hello ${i}`), { bearer: CLIENT_KEY })).status, 200);
    // The page refreshes by itself until the count shows the requests just sent.
    await waitFor(async () => Number((await page.textContent('#traffic-requests'))?.replace(/,/g, '')) >= 4, 'the console to show the requests');
    await page.waitForSelector('#page-traffic svg.chart polyline, #page-traffic svg.chart circle');
    await shot(page, '01-traffic');

    await page.goto(`${gw.url}/console#/targets`);
    await page.waitForSelector('#page-targets table');
    assert.match(String(await page.textContent('#page-targets')), /mock\/\*.*healthy|no check/);
    await shot(page, '02-targets');

    await page.goto(`${gw.url}/console#/keys`);
    await page.fill('#key-name', 'from-console');
    await page.click('#key-create-submit');
    const secret = String(await page.textContent('#new-key-secret'));
    assert.match(secret, /^sk-/);
    await shot(page, '03-key-created');
    const withKey = await req.chat(gw, req.chatBody('mock-1', 'with the new key'), { bearer: secret });
    assert.equal(withKey.status, 200);
    // Shown once: after a reload the list has the key, the secret is gone.
    await page.reload();
    await page.waitForSelector('#keys-table');
    assert.equal(await page.locator('#new-key-secret').count(), 0);
    assert.match(String(await page.textContent('#keys-table')), /from-console/);
    assert.equal((await page.content()).includes(secret), false);

    // Rotating shows the new secret once; the old one stops working, the new one works.
    page.once('dialog', (d) => void d.dismiss());
    await page.click('[data-rotate="from-console"]');
    await waitFor(async () => ((await page.textContent('#new-key-secret')) ?? secret) !== secret, 'the rotated secret');
    const rotated = String(await page.textContent('#new-key-secret'));
    assert.equal((await req.chat(gw, req.chatBody('mock-1', 'old key'), { bearer: secret })).status, 401);
    assert.equal((await req.chat(gw, req.chatBody('mock-1', 'rotated key'), { bearer: rotated })).status, 200);

    await page.goto(`${gw.url}/console#/cache`);
    await page.click('#cache-purge-submit');
    await waitFor(async () => /Purged \d+ entries/.test((await page.textContent('#cache-result')) ?? ''), 'the purge to be reported');
    await shot(page, '04-cache-purged');

    await page.goto(`${gw.url}/console#/audit`);
    await page.waitForSelector('#audit-table');
    const audit = String(await page.textContent('#audit-table'));
    assert.match(audit, /POST \/admin\/cache\/purge/);
    assert.match(audit, /POST \/admin\/keys/);
    assert.match(audit, /ops/);
    assert.equal(audit.includes(secret), false);
    await shot(page, '05-audit');

    // Usage and cost: the table by key, and the same numbers as a CSV download.
    await page.goto(`${gw.url}/console#/usage`);
    await waitFor(async () => /key:config:client/.test((await page.textContent('#page-usage')) ?? ''), 'the usage by key');
    await shot(page, '06-usage');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#usage-csv')]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.match(csv, /^key,requests,errors,/);
    assert.match(csv, /\r\nkey:config:client,[1-9]/);

    for (const [path, selector] of [['queues', '#queues-waiting'], ['limits', '#limits-keys'], ['config', '#config-json']] as const) {
      await page.goto(`${gw.url}/console#/${path}`);
      await page.waitForSelector(selector);
      await shot(page, `06-${path}`);
    }
    assert.equal((await page.textContent('#config-json'))?.includes(ADMIN), false);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a viewer sees no create, rotate, revoke or purge, and the API refuses them anyway', async () => {
    const page = await browser.context.newPage();
    await signIn(page, VIEWER);
    await page.goto(`${gw.url}/console#/keys`);
    await page.waitForSelector('#keys-table');
    assert.equal(await page.locator('#key-create').count(), 0);
    assert.equal(await page.locator('[data-revoke]').count(), 0);
    await page.goto(`${gw.url}/console#/cache`);
    await page.waitForSelector('#cache-stats');
    assert.equal(await page.locator('#cache-purge').count(), 0);
    await shot(page, '07-viewer-cache');
    // What the page hides, the API refuses: the same call the page would make, with the viewer's token.
    const status = await page.evaluate<number>(
      "fetch('/admin/keys', { method: 'POST', headers: { authorization: 'Bearer ' + sessionStorage.getItem('sluice.adminToken'), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'by-viewer' }) }).then((r) => r.status)",
    );
    assert.equal(status, 403);
    await page.click('#signout');
    await page.waitForSelector('#signin');
    assert.equal(await page.evaluate<string | null>("sessionStorage.getItem('sluice.adminToken')"), null);
    await page.close();
  });

  test('a wrong token is refused on the sign-in page', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${gw.url}/console`);
    await page.fill('#token', 'not-an-admin-token-0123456789');
    await page.click('#signin-submit');
    await waitFor(async () => ((await page.textContent('#signin-error')) ?? '') !== '', 'the refusal');
    assert.match(String(await page.textContent('#signin-error')), /not an admin token/);
    await page.close();
  });
});
