/**
 * The account page's secrets in Debian's Chromium, on a phone (390 px, touch) and a desktop:
 * "confirm it's you" before setting up, the authenticator key shown in groups with a copy button
 * and, on the phone, an otpauth:// link to tap; recovery codes copied and downloaded as a text
 * file; an app password copied, and never wrapped inside one of its groups. Where the clipboard
 * API is missing (plain http on another host), the text is selected instead. axe-core on each page.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { axeViolations, launchChromium } from './support/chromium.js';
import { startStack, type Stack } from './support/stack.js';
import { totp } from './support/totp.js';

const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const serious = (vs: Awaited<ReturnType<typeof axeViolations>>) => vs.filter((v) => v.impact === 'serious' || v.impact === 'critical');

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const DESKTOP = { viewport: { width: 1280, height: 800 } };

describe('in Chromium: the account page\'s secrets, on a phone and a desktop', () => {
  let stack: Stack;
  let browser: Browser;
  before(async () => {
    [stack, browser] = await Promise.all([startStack({ env: { GATEWAY_MFA: 'optional', GATEWAY_MFA_KEY: 'ef'.repeat(32) } }), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function signedIn(username: string, device: typeof PHONE | typeof DESKTOP, options: { clipboard: boolean }): Promise<{ context: BrowserContext; page: Page }> {
    // bypassCSP only so that axe-core can be injected; the gateway's scripts are its own files.
    const context = await browser.newContext({ ...device, bypassCSP: true, acceptDownloads: true });
    if (options.clipboard) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.gateway.url });
    // As on plain http at another host than localhost: no clipboard API.
    else await context.addInitScript(() => Object.defineProperty(navigator, 'clipboard', { value: undefined }));
    const page = await context.newPage();
    await page.goto(`${stack.gateway.url}/accounts/security/`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(`${username}-pass`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/accounts/security/');
    assert.deepEqual(serious(await axeViolations(page)), []);
    await page.getByRole('link', { name: /^Authenticator app/ }).click();
    await page.waitForURL((url) => url.pathname === '/accounts/security/authenticator/');
    return { context, page };
  }

  /** Sets up the authenticator app from the account page, through "confirm it's you"; returns the key. */
  async function setUpApp(page: Page, username: string): Promise<string> {
    await page.getByRole('link', { name: 'Set up an authenticator app' }).click();
    await page.waitForURL('**/accounts/security/confirm/**');
    assert.deepEqual(serious(await axeViolations(page)), []);
    await page.getByLabel('Password').fill(`${username}-pass`);
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/accounts/security/totp/');
    assert.deepEqual(serious(await axeViolations(page)), []);
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
    assert.deepEqual(serious(await axeViolations(page)), []);
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
    assert.deepEqual(serious(await axeViolations(page)), []);
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
    assert.deepEqual(serious(await axeViolations(page)), []);
    await page.screenshot({ path: `${SCREENSHOTS}account-app-password.png` });
    await context.close();
  });
});
