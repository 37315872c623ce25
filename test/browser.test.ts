import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page, Response } from 'playwright-core';
import { axeViolations, launchChromium } from './support/chromium.js';
import { mappingFile } from './support/mapping.js';
import { startStack, startStackOn, type Stack, type UpstreamStack } from './support/stack.js';
import { upstreamKinds } from './support/upstream.js';

const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

async function signIn(page: Page, username: string, password: string): Promise<Response | null> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().includes('/accounts/login/') && r.request().method() === 'POST'), page.getByRole('button', { name: 'Sign in' }).click()]);
  return response;
}

for (const kind of upstreamKinds()) {
  describe(`in Chromium: the whole visit (${kind})`, () => {
    let stack: UpstreamStack;
    let browser: Browser;
    before(async () => {
      // API header mode off: the page's own API calls ride on Paperless's session, so its CSRF rule applies.
      // The documented mapping: alice is an admin, so she may upload.
      [stack, browser] = await Promise.all([
        startStackOn(kind, { upstream: { enableRemoteUserApi: false }, env: { GATEWAY_PROVISIONING_FILE: mappingFile() } }),
        launchChromium(),
      ]);
    });
    after(async () => {
      await browser?.close();
      await stack?.stop();
    });

    it('redirect to sign-in, Paperless with its websocket, an upload reported on it, a reload, sign-out', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${stack.gateway.url}/documents/?sort=created`);
      assert.equal(new URL(page.url()).pathname, '/accounts/login/');
      assert.equal(new URL(page.url()).searchParams.get('next'), '/documents/?sort=created');

      const response = await signIn(page, 'alice', 'alice-pass');
      assert.equal(response?.status(), 303);
      await page.waitForURL('**/documents/?sort=created');
      assert.equal(await page.locator('#user').textContent(), 'alice');
      // Provisioned before the first proxied request: Paperless already knows her groups and rights.
      assert.equal(await page.locator('#superuser').textContent(), 'yes');
      assert.match((await page.locator('#groups').textContent()) ?? '', /Admins/);
      await page.locator('#ws', { hasText: 'connected' }).waitFor();

      const mark = await stack.upstream.mark();
      await page.locator('#file').setInputFiles({ name: 'scan.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(64 * 1024, 0x25) });
      await page.locator('#upload').click();
      await page.locator('#upload-result', { hasText: /^\d{3} / }).waitFor();
      assert.match((await page.locator('#upload-result').textContent()) ?? '', /^200 /);
      assert.deepEqual((await stack.upstream.uploads()).at(-1), { user: 'alice', bytes: 64 * 1024 });
      const posted = (await stack.upstream.requestsSince(mark)).find((r) => r.path === '/api/documents/post_document/');
      assert.ok(posted?.rawHeaders.some(([k]) => k.toLowerCase() === 'x-csrftoken'), "the page sent Paperless's CSRF token");
      // Paperless reports the upload on /ws/status/, through the gateway's websocket.
      await page.locator('#status', { hasText: /^SUCCESS document \d+$/ }).waitFor();
      await page.screenshot({ path: `${SCREENSHOTS}paperless-${kind}.png`, fullPage: true });

      await page.reload();
      assert.equal(await page.locator('#user').textContent(), 'alice');
      await page.locator('#ws', { hasText: 'connected' }).waitFor();

      await page.locator('#logout').click();
      await page.waitForURL('**/accounts/login/?loggedout=1');
      assert.equal(await page.getByRole('status').textContent(), 'You have been signed out.');
      await page.goto(`${stack.gateway.url}/documents/`);
      assert.equal(new URL(page.url()).pathname, '/accounts/login/');
      await context.close();
    });
  });
}

describe('in Chromium: the sign-in page', () => {
  let stack: Stack;
  let browser: Browser;
  before(async () => {
    // API header mode off: the page's own API calls ride on Paperless's session, so its CSRF rule applies.
    // The documented mapping: alice is an admin, so she may upload.
    [stack, browser] = await Promise.all([startStack({ sim: { enableRemoteUserApi: false }, env: { GATEWAY_PROVISIONING_FILE: mappingFile() } }), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('works with the keyboard alone, with a visible focus, and with JavaScript off', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${stack.gateway.url}/accounts/login/`);
    // The username field has the focus when the page opens: the browser applies `autofocus` at its
    // next rendering step, which on a loaded machine comes after `goto` returns (5 s at most).
    await page.waitForFunction(() => document.activeElement?.id === 'username', null, { timeout: 5000 }).catch(() => undefined);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'username');
    await page.keyboard.type('bob');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
    assert.notEqual(outline, 'none', 'the focused field shows a focus ring');
    await page.keyboard.type('bob-pass');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'BUTTON');
    await Promise.all([page.waitForURL(`${stack.gateway.url}/`), page.keyboard.press('Enter')]);
    assert.equal(await page.locator('#user').textContent(), 'bob');
    await context.close();
  });

  it('says what went wrong where a person can see and hear it: wrong password, locked out, directory down, Paperless down', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.gateway.url}/accounts/login/`);
    const wrong = await signIn(page, 'alice', 'wrong');
    assert.equal(wrong?.status(), 401);
    const alert = page.getByRole('alert');
    assert.equal(await alert.textContent(), 'Wrong username or password.');
    assert.equal(await page.locator('.messages').getAttribute('aria-live'), 'polite');
    assert.equal(await page.getByLabel('Username').inputValue(), 'alice', 'the username stays filled in');
    assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');

    // Locked out: after the per user+address limit (5 by default), a ban reads the same and says when to come back.
    let banned: Response | null = null;
    for (let i = 0; i < 6 && (await banned?.headerValue('retry-after')) == null; i++) banned = await signIn(page, 'carol', 'wrong');
    assert.equal(banned?.status(), 401);
    assert.ok(Number(await banned?.headerValue('retry-after')) > 0);
    assert.equal(await page.getByRole('alert').textContent(), 'Wrong username or password.');

    await stack.slapd.stop();
    try {
      const down = await signIn(page, 'bob', 'bob-pass');
      assert.equal(down?.status(), 503);
      assert.equal(await page.getByRole('alert').textContent(), 'The user directory (LDAP) is unavailable. Please try again in a moment.');
    } finally {
      await stack.slapd.start();
    }

    const signedIn = await signIn(page, 'bob', 'bob-pass');
    assert.equal(signedIn?.status(), 303);
    const port = Number(new URL(stack.sim.url).port);
    await stack.sim.stop();
    try {
      const gone = await page.goto(`${stack.gateway.url}/documents/`);
      assert.equal(gone?.status(), 502);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Paperless is unreachable');
      assert.equal(await page.getByRole('link', { name: 'Try again' }).getAttribute('href'), '/');
      assert.equal(await page.getByRole('link', { name: 'Your account' }).getAttribute('href'), '/accounts/security/', 'every gateway page leads to the account page');
      await page.screenshot({ path: `${SCREENSHOTS}error-502.png` });
    } finally {
      await stack.sim.start(port);
    }
    await context.close();
  });
});

describe('in Chromium: the sign-in page itself', () => {
  let stack: Stack;
  let browser: Browser;
  before(async () => {
    [stack, browser] = await Promise.all([startStack({ env: { GATEWAY_REMEMBER_ME_DURATION: '30d' } }), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('has no serious accessibility violations (axe-core), empty, with an error, and as an error page', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    const serious = (vs: Awaited<ReturnType<typeof axeViolations>>) => vs.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    await page.goto(`${stack.gateway.url}/accounts/login/`);
    assert.deepEqual(serious(await axeViolations(page)), []);
    await signIn(page, 'alice', 'wrong');
    assert.deepEqual(serious(await axeViolations(page)), []);
    await page.goto(`${stack.gateway.url}/accounts/login/?loggedout=1`);
    assert.deepEqual(serious(await axeViolations(page)), []);
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.deepEqual(serious(await axeViolations(page)), [], 'dark mode too');
    await context.close();
  });

  it('fits a phone and a desktop (screenshots for the README)', async () => {
    for (const [name, viewport, scale] of [
      ['desktop', { width: 1280, height: 800 }, 1],
      ['phone', { width: 390, height: 844 }, 2],
    ] as const) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: scale, isMobile: name === 'phone', hasTouch: name === 'phone' });
      const page = await context.newPage();
      await page.goto(`${stack.gateway.url}/accounts/login/`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= viewport.width, `no sideways scrolling at ${viewport.width}px (content is ${width}px)`);
      const button = await page.getByRole('button', { name: 'Sign in' }).boundingBox();
      assert.ok(button && button.height >= 44, 'the button is a comfortable touch target');
      await page.screenshot({ path: `${SCREENSHOTS}login-${name}.png` });
      await context.close();
    }
  });

  it('speaks the browser language (German here) and remembers a person who asks for it', async () => {
    const context = await browser.newContext({ locale: 'de-DE' });
    const page = await context.newPage();
    await page.goto(`${stack.gateway.url}/accounts/login/`);
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Anmelden');
    await page.getByLabel('Benutzername').fill('alice');
    await page.getByLabel('Passwort').fill('nope');
    await page.getByRole('button', { name: 'Anmelden' }).click();
    assert.equal(await page.getByRole('alert').textContent(), 'Benutzername oder Passwort ist falsch.');
    await page.screenshot({ path: `${SCREENSHOTS}login-error-de.png` });

    await page.getByLabel('Passwort').fill('alice-pass');
    await page.getByLabel('Angemeldet bleiben').check();
    await Promise.all([page.waitForURL(`${stack.gateway.url}/`), page.getByRole('button', { name: 'Anmelden' }).click()]);
    const cookie = (await context.cookies()).find((c) => c.name === 'gateway_session');
    const days = ((cookie?.expires ?? 0) * 1000 - Date.now()) / 86_400_000;
    // A cookie's expiry is kept in whole seconds, which may round it up past now + 30 days by one (seen in CI).
    assert.ok(days > 29 && days <= 30 + 1 / 86_400, `the session cookie lasts 30 days (got ${days.toFixed(6)})`);
    await context.close();
  });
});
