/**
 * The account page in Debian's Chromium, on a phone (390 px, touch) and a desktop: every view,
 * before and inside the step-up window, with no axe violation of any impact in light and dark, and
 * none taller than 1,600 px on the phone; the step-up window (an action inside it, after it ran
 * out, from another session); and the secrets: the authenticator key shown in groups with a copy
 * button and, on the phone, an otpauth:// link to tap; recovery codes copied and downloaded as a
 * text file; an app password copied, and never wrapped inside one of its groups. Where the
 * clipboard API is missing (plain http on another host), the text is selected instead.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { axeViolations, launchChromium } from './support/chromium.js';
import { Redis } from 'ioredis';
import { redisKeys } from '../src/redis/keys.js';
import { userDn } from './support/directory-data.js';
import { startStack, type Stack } from './support/stack.js';
import { totp } from './support/totp.js';

const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const EXTRA_USERS = ['dave', 'erin', 'frank', 'grace'];
/** Every view of the account page (src/web/account-context.ts, ACCOUNT_VIEWS). */
const VIEWS = ['', 'authenticator/', 'passkeys/', 'recovery-codes/', 'app-passwords/', 'password/', 'sessions/'];

describe('in Chromium: the account page\'s secrets, on a phone and a desktop', () => {
  let stack: Stack;
  let browser: Browser;
  let redis: Redis;
  const keys = redisKeys('gw:');
  before(async () => {
    [stack, browser] = await Promise.all([startStack({ env: { GATEWAY_MFA: 'optional', GATEWAY_MFA_KEY: 'ef'.repeat(32), GATEWAY_REDIS_KEY_PREFIX: 'gw:' } }), launchChromium()]);
    redis = new Redis(stack.redis.url);
    await stack.slapd.ldapadd(EXTRA_USERS.map((u) => `dn: ${userDn(u)}\nobjectClass: inetOrgPerson\nuid: ${u}\ncn: ${u}\nsn: ${u}\nuserPassword: ${u}-pass\n`).join('\n'));
  });
  after(async () => {
    redis?.disconnect();
    await browser?.close();
    await stack?.stop();
  });

  /** A fresh context signed in through the form, at the account page's overview. */
  async function signedInAt(username: string, device: typeof PHONE | typeof DESKTOP, options: { clipboard?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
    // bypassCSP only so that axe-core can be injected; the gateway's scripts are its own files.
    const context = await browser.newContext({ ...device, bypassCSP: true, acceptDownloads: true });
    if (options.clipboard) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.gateway.url });
    // As on plain http at another host than localhost: no clipboard API.
    else if (options.clipboard === false) await context.addInitScript(() => Object.defineProperty(navigator, 'clipboard', { value: undefined }));
    const page = await context.newPage();
    await page.goto(`${stack.gateway.url}/accounts/security/`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(`${username}-pass`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/accounts/security/');
    return { context, page };
  }

  /** Signed in, at the authenticator app's view. */
  async function signedIn(username: string, device: typeof PHONE | typeof DESKTOP, options: { clipboard: boolean }): Promise<{ context: BrowserContext; page: Page }> {
    const { context, page } = await signedInAt(username, device, options);
    assert.deepEqual(await axeViolations(page), []);
    await page.getByRole('link', { name: /^Authenticator app/ }).click();
    await page.waitForURL((url) => url.pathname === '/accounts/security/authenticator/');
    return { context, page };
  }

  /** Sets up the authenticator app from the account page, through "confirm it's you"; returns the key. */
  async function setUpApp(page: Page, username: string): Promise<string> {
    await page.getByRole('link', { name: 'Set up an authenticator app' }).click();
    await page.waitForURL('**/accounts/security/confirm/**');
    assert.deepEqual(await axeViolations(page), []);
    await page.getByLabel('Password').fill(`${username}-pass`);
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/accounts/security/totp/');
    assert.deepEqual(await axeViolations(page), []);
    return ((await page.locator('#totp-secret').textContent()) ?? '').replaceAll(' ', '');
  }

  it('desktop: copies the key, the recovery codes and an app password; downloads the codes as a text file', async () => {
    const { context, page } = await signedIn('alice', DESKTOP, { clipboard: true });
    const key = await setUpApp(page, 'alice');
    assert.equal(await page.locator('#otpauth-link').isVisible(), false, 'no app to open on a desktop');
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key, 'the key without the spaces it is shown with');

    await page.getByLabel('Enter the code the app shows').fill(totp(key));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.locator('#recovery-codes').waitFor();
    assert.deepEqual(await axeViolations(page), []);
    const codes = await page.locator('#recovery-codes code').allTextContents();
    assert.equal(codes.length, 10);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), codes.join('\n'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
    assert.equal(download.suggestedFilename(), 'recovery-codes.txt');
    assert.equal(readFileSync(await download.path(), 'utf8'), `${codes.join('\n')}\n`);

    // Enrolling ended the window: an app password asks to confirm again, with a code this time.
    await page.getByRole('link', { name: 'Back to your account' }).click();
    await page.waitForURL((url) => url.pathname === '/accounts/security/authenticator/');
    await page.goto(`${stack.gateway.url}/accounts/security/app-passwords/`);
    await page.getByLabel('Name of the app or device').fill('Phone');
    await page.getByRole('button', { name: 'Create an app password' }).click();
    await page.waitForURL('**/accounts/security/confirm/**');
    await page.getByLabel('Or a code from your authenticator app').fill(totp(key, 1));
    await page.getByRole('button', { name: 'Confirm with the code' }).click();
    await page.waitForURL((url) => url.pathname === '/accounts/security/app-passwords/');
    await page.getByLabel('Name of the app or device').fill('Phone');
    await page.getByRole('button', { name: 'Create an app password' }).click();
    const value = (await page.locator('#app-password').textContent()) ?? '';
    assert.match(value, /^([a-z2-9]{4}-){4}[a-z2-9]{4}$/);
    assert.deepEqual(await axeViolations(page), []);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), value);
    await context.close();
  });

  it('phone: an otpauth:// link beside the QR code; without a clipboard API the secret is selected; an app password wraps only between groups', async () => {
    const { context, page } = await signedIn('bob', PHONE, { clipboard: false });
    const key = await setUpApp(page, 'bob');
    const link = page.locator('#otpauth-link');
    assert.equal(await link.isVisible(), true, 'the phone that has the app can open it');
    const href = new URL((await link.getAttribute('href')) ?? '');
    assert.equal(href.protocol, 'otpauth:');
    assert.equal(href.searchParams.get('secret'), key);
    assert.equal(await page.locator('#code').getAttribute('inputmode'), 'numeric');
    assert.equal(await page.locator('#code').getAttribute('autocomplete'), 'one-time-code');
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Selected: copy it with Ctrl+C, or from the menu.').waitFor();
    assert.equal((await page.evaluate(() => window.getSelection()?.toString() ?? '')).replaceAll(' ', ''), key);

    await page.getByLabel('Enter the code the app shows').fill(totp(key));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.locator('#recovery-codes').waitFor();
    await page.getByRole('link', { name: 'Back to your account' }).click();
    await page.getByRole('link', { name: '← Your account' }).click();
    await page.waitForURL((url) => url.pathname === '/accounts/security/');
    await page.screenshot({ path: `${SCREENSHOTS}account-overview.png` });
    // An overview and each view fit a phone's screen or two.
    assert.ok((await page.evaluate(() => document.documentElement.scrollHeight)) <= 1600);
    await page.getByRole('link', { name: /^App passwords/ }).click();
    await page.getByRole('link', { name: "Confirm it's you" }).click();
    await page.getByLabel('Password').fill('bob-pass');
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/accounts/security/app-passwords/');
    await page.getByLabel('Name of the app or device').fill('Tablet');
    await page.getByRole('button', { name: 'Create an app password' }).click();
    const value = (await page.locator('#app-password').textContent()) ?? '';
    // Where each character sits: a new line may start only right after a hyphen.
    const breaks = await page.locator('#app-password').evaluate((code) => {
      const text = code.firstChild as Text;
      const tops: number[] = [];
      for (let i = 0; i < text.length; i++) {
        const range = document.createRange();
        range.setStart(text, i);
        range.setEnd(text, i + 1);
        tops.push(Math.round(range.getBoundingClientRect().top));
      }
      return tops.flatMap((top, i) => (i > 0 && top !== tops[i - 1] ? [i] : []));
    });
    for (const at of breaks) assert.equal(value[at - 1], '-', `${value} breaks inside a group, before character ${at}`);
    assert.deepEqual(await axeViolations(page), []);
    await page.screenshot({ path: `${SCREENSHOTS}account-app-password.png` });
    await context.close();
  });

  /** Each view: no axe violation at all (any impact), in light and dark; on the phone, at most 1,600 px tall. */
  async function checkEveryView(page: Page, device: string, phone: boolean, when: string): Promise<void> {
    for (const view of VIEWS) {
      await page.goto(`${stack.gateway.url}/accounts/security/${view}`);
      assert.equal(new URL(page.url()).pathname, `/accounts/security/${view}`, `${device}, ${when}: ${view || 'overview'} is a view of its own`);
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        assert.deepEqual(await axeViolations(page), [], `${device}, ${when}, ${scheme}: /accounts/security/${view}`);
      }
      if (phone) {
        const height = await page.evaluate(() => document.documentElement.scrollHeight);
        assert.ok(height <= 1600, `${device}, ${when}: /accounts/security/${view} is ${height} px tall`);
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }

  for (const [device, settings, username] of [['phone', PHONE, 'dave'], ['desktop', DESKTOP, 'erin']] as const) {
    it(`${device}: every view, before and inside the step-up window, with the authenticator app on and off, has no axe violation in light or dark`, async () => {
      const { context, page } = await signedInAt(username, settings);
      await checkEveryView(page, device, device === 'phone', 'no factors, no window');
      await page.goto(`${stack.gateway.url}/accounts/security/totp/`);
      await page.waitForURL('**/accounts/security/confirm/**');
      await page.getByLabel('Password').fill(`${username}-pass`);
      await page.getByRole('button', { name: 'Confirm', exact: true }).click();
      await page.waitForURL((url) => url.pathname === '/accounts/security/totp/');
      const key = ((await page.locator('#totp-secret').textContent()) ?? '').replaceAll(' ', '');
      await page.getByLabel('Enter the code the app shows').fill(totp(key));
      await page.getByRole('button', { name: 'Turn on' }).click();
      await page.locator('#recovery-codes').waitFor();
      // Turning the app on ended the window: confirm with a code, then every view again.
      await page.goto(`${stack.gateway.url}/accounts/security/confirm/?next=${encodeURIComponent('/accounts/security/')}`);
      await page.getByLabel('Or a code from your authenticator app').fill(totp(key, 1));
      await page.getByRole('button', { name: 'Confirm with the code' }).click();
      await page.waitForURL((url) => url.pathname === '/accounts/security/');
      await checkEveryView(page, device, device === 'phone', 'app on, inside the window');
      await context.close();
    });
  }

  it('the step-up window in the browser: an action inside it is done at once; after it ran out, and from another session that never confirmed, the action leads to "confirm it\'s you" and back to its view, not done', async () => {
    const { context, page } = await signedInAt('frank', PHONE);
    const appPasswords = `${stack.gateway.url}/accounts/security/app-passwords/`;
    const create = async (name: string) => {
      await page.goto(appPasswords);
      await page.getByLabel('Name of the app or device').fill(name);
      await page.getByRole('button', { name: 'Create an app password' }).click();
    };
    // Outside any window: to the step-up; after it, back to the view (the form is not replayed).
    await create('Laptop');
    await page.waitForURL('**/accounts/security/confirm/**');
    await page.getByLabel('Password').fill('frank-pass');
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/accounts/security/app-passwords/');
    assert.equal(await page.locator('#app-password').count(), 0, 'the action was not replayed');
    // Inside: done at once, nothing asked.
    await create('Laptop');
    await page.locator('#app-password').waitFor();
    // The window's end, as time passing leaves it in Redis.
    const [field] = await redis.hkeys(keys.stepUp('frank'));
    assert.ok(field, 'the window is stored');
    await redis.hset(keys.stepUp('frank'), field, String(Date.now() - 1));
    await create('Tablet');
    await page.waitForURL('**/accounts/security/confirm/**');
    assert.equal(new URL(page.url()).searchParams.get('next'), '/accounts/security/app-passwords/');
    await page.goto(appPasswords);
    assert.equal(await page.getByText('Tablet').count(), 0, 'nothing was made after the window ran out');

    // Another session of the same person has no window, though this one opens a new one.
    await page.goto(`${stack.gateway.url}/accounts/security/confirm/?next=${encodeURIComponent('/accounts/security/app-passwords/')}`);
    await page.getByLabel('Password').fill('frank-pass');
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/accounts/security/app-passwords/');
    const other = await signedInAt('frank', DESKTOP);
    await other.page.goto(appPasswords);
    await other.page.getByLabel('Name of the app or device').fill('Desk');
    await other.page.getByRole('button', { name: 'Create an app password' }).click();
    await other.page.waitForURL('**/accounts/security/confirm/**');
    await other.page.goto(appPasswords);
    assert.equal(await other.page.getByText('Desk').count(), 0, 'the other session made nothing');
    await other.context.close();
    await context.close();
  });
});
