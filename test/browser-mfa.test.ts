/**
 * Second factors in Debian's Chromium: setting up an authenticator app at first sign-in (codes
 * computed by the test from the key the page shows), signing in with a code and with a recovery
 * code, a remembered device, the websocket after the second step, on the simulator and on the
 * Django upstream; the account page and the second-step pages checked with axe-core.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { axeViolations, launchChromium } from './support/chromium.js';
import { mappingFile } from './support/mapping.js';
import { startStackOn, type UpstreamStack } from './support/stack.js';
import { totp } from './support/totp.js';
import { upstreamKinds } from './support/upstream.js';

const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const MFA_ENV = { GATEWAY_MFA: 'required', GATEWAY_MFA_KEY: 'cd'.repeat(32), GATEWAY_MFA_ENROLMENT: 'first-login', GATEWAY_MFA_REMEMBER_DEVICE: '30d' };
const serious = (vs: Awaited<ReturnType<typeof axeViolations>>) => vs.filter((v) => v.impact === 'serious' || v.impact === 'critical');

async function password(page: Page, username: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(`${username}-pass`);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** "Confirm it's you" from a view's link, with the password; back on that view. */
async function confirmInBrowser(page: Page, username: string): Promise<void> {
  await page.getByRole('link', { name: "Confirm it's you" }).click();
  await page.waitForURL('**/accounts/security/confirm/**');
  await page.getByLabel('Password').fill(`${username}-pass`);
  const view = new URL(page.url()).searchParams.get('next');
  await page.getByRole('button', { name: 'Confirm', exact: true }).click();
  await page.waitForURL((url) => url.pathname === view);
}

for (const kind of upstreamKinds()) {
  describe(`in Chromium: second factors (${kind})`, () => {
    let stack: UpstreamStack;
    let browser: Browser;
    let secret = '';
    let recoveryCodes: string[] = [];
    before(async () => {
      [stack, browser] = await Promise.all([
        startStackOn(kind, { upstream: { enableRemoteUserApi: false }, env: { ...MFA_ENV, GATEWAY_PROVISIONING_FILE: mappingFile() } }),
        launchChromium(),
      ]);
    });
    after(async () => {
      await browser?.close();
      await stack?.stop();
    });

    it('first sign-in sets up the app: QR code, key, first code, recovery codes, then Paperless with its websocket', async () => {
      const context = await browser.newContext({ bypassCSP: kind === 'simulator' });
      const page = await context.newPage();
      await page.goto(`${stack.gateway.url}/documents/`);
      await password(page, 'alice');
      await page.waitForURL('**/accounts/login/enrol/');
      await page.locator('.qr svg').waitFor();
      if (kind === 'simulator') {
        assert.deepEqual(serious(await axeViolations(page)), []);
        await page.screenshot({ path: `${SCREENSHOTS}mfa-enrol.png` });
      }
      // The key is shown, in groups of four (typed by hand, the spaces do not count).
      secret = ((await page.locator('#totp-secret').textContent()) ?? '').replaceAll(' ', '');
      assert.match(secret, /^[A-Z2-7]{16,}$/);
      await page.getByLabel('Enter the code the app shows').fill(totp(secret));
      await page.getByRole('button', { name: 'Turn on' }).click();
      await page.locator('#recovery-codes').waitFor();
      recoveryCodes = await page.locator('#recovery-codes code').allTextContents();
      assert.equal(recoveryCodes.length, 10);
      if (kind === 'simulator') assert.deepEqual(serious(await axeViolations(page)), []);
      await page.getByRole('link', { name: 'Continue to Paperless' }).click();
      await page.waitForURL('**/documents/');
      assert.equal(await page.locator('#user').textContent(), 'alice');
      await page.locator('#ws', { hasText: 'connected' }).waitFor();
      await context.close();
    });

    it('signs in with the next code and remembers the device; another browser is asked again', async () => {
      const context = await browser.newContext({ bypassCSP: kind === 'simulator' });
      const page = await context.newPage();
      await page.goto(`${stack.gateway.url}/accounts/login/?next=%2Fdocuments%2F`);
      await password(page, 'alice');
      await page.waitForURL('**/accounts/login/verify/');
      if (kind === 'simulator') assert.deepEqual(serious(await axeViolations(page)), []);
      // Only the password is done: Paperless stays out of reach in this browser.
      const direct = await context.request.get(`${stack.gateway.url}/api/documents/`);
      assert.equal(direct.status(), 401);
      await page.getByLabel('Code', { exact: true }).fill(totp(secret, 1));
      await page.getByLabel("Don't ask again on this device").check();
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL('**/documents/');
      assert.equal(await page.locator('#user').textContent(), 'alice');
      await page.locator('#logout').click();
      await page.waitForURL('**/accounts/login/?loggedout=1');
      await password(page, 'alice');
      await page.waitForURL((url) => url.pathname === '/');
      assert.equal(await page.locator('#user').textContent(), 'alice', 'no second step on the remembered device');
      await context.close();

      const other = await browser.newContext();
      const otherPage = await other.newPage();
      await otherPage.goto(`${stack.gateway.url}/accounts/login/`);
      await password(otherPage, 'alice');
      await otherPage.waitForURL('**/accounts/login/verify/');
      await other.close();
    });

    it('a recovery code signs in once; the account page then shows one code fewer', async () => {
      const context = await browser.newContext({ bypassCSP: kind === 'simulator' });
      const page = await context.newPage();
      await page.goto(`${stack.gateway.url}/accounts/security/`);
      await password(page, 'alice');
      await page.waitForURL('**/accounts/login/verify/');
      await page.getByText('Lost your phone? Enter one of your recovery codes instead.').click();
      await page.getByLabel('Recovery code').fill(recoveryCodes[0] as string);
      await page.locator('#recovery').getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL('**/accounts/security/');
      assert.match((await page.locator('#account-parts').textContent()) ?? '', /Unused recovery codes: 9/);
      await page.getByRole('link', { name: /^Recovery codes/ }).click();
      await page.waitForURL('**/accounts/security/recovery-codes/');
      assert.match((await page.locator('#codes-status').textContent()) ?? '', /9/);
      if (kind === 'simulator') {
        assert.deepEqual(serious(await axeViolations(page)), []);
        await page.emulateMedia({ colorScheme: 'dark' });
        assert.deepEqual(serious(await axeViolations(page)), [], 'dark mode too');
      }
      await page.getByRole('link', { name: 'Back to your account' }).click();
      await page.getByRole('link', { name: 'Back to Paperless' }).click();
      await page.waitForURL((url) => url.pathname === '/');
      assert.equal(await page.locator('#user').textContent(), 'alice');
      await context.close();
    });
  });
}

describe('in Chromium: second factors, setup with JavaScript off', () => {
  let stack: UpstreamStack;
  let browser: Browser;
  before(async () => {
    [stack, browser] = await Promise.all([startStackOn('simulator', { env: MFA_ENV }), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('works with the keyboard alone: the code field has the focus on the second step', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${stack.gateway.url}/accounts/login/`);
    await password(page, 'bob');
    await page.waitForURL('**/accounts/login/enrol/');
    const key = ((await page.locator('#totp-secret').textContent()) ?? '').replaceAll(' ', '');
    await page.getByLabel('Enter the code the app shows').fill(totp(key));
    await page.keyboard.press('Enter');
    await page.locator('#recovery-codes').waitFor();
    await context.close();
    const again = await browser.newContext({ javaScriptEnabled: false });
    const second = await again.newPage();
    await second.goto(`${stack.gateway.url}/accounts/login/`);
    await password(second, 'bob');
    await second.waitForURL('**/accounts/login/verify/');
    assert.equal(await second.evaluate(() => document.activeElement?.id), 'code');
    await second.keyboard.type(totp(key, 1));
    await second.keyboard.press('Enter');
    await second.waitForURL((url) => url.pathname === '/');
    await again.close();
  });
});

describe('in Chromium: the account page signs out another browser', () => {
  let stack: UpstreamStack;
  let browser: Browser;
  before(async () => {
    [stack, browser] = await Promise.all([startStackOn('simulator', { env: { GATEWAY_MFA: 'optional', GATEWAY_MFA_KEY: 'cd'.repeat(32) } }), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('lists both browsers, signs the other out, and passes axe', async () => {
    const laptop = await browser.newContext({ bypassCSP: true, userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0' });
    const phone = await browser.newContext({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1' });
    const phonePage = await phone.newPage();
    await phonePage.goto(`${stack.gateway.url}/documents/`);
    await password(phonePage, 'bob');
    await phonePage.waitForURL('**/documents/');
    const page = await laptop.newPage();
    await page.goto(`${stack.gateway.url}/accounts/security/sessions/`);
    await password(page, 'bob');
    await page.waitForURL('**/accounts/security/sessions/');
    assert.deepEqual(serious(await axeViolations(page)), []);
    await page.getByRole('button', { name: /Sign out: Safari · iOS/ }).click();
    await page.waitForURL('**/accounts/security/sessions/?done=session-ended');
    assert.equal(await page.getByRole('status').textContent(), 'That session is signed out.');
    await phonePage.reload();
    assert.equal(new URL(phonePage.url()).pathname, '/accounts/login/');
    await laptop.close();
    await phone.close();
  });
});

for (const kind of upstreamKinds()) {
  describe(`in Chromium: passkeys with a virtual authenticator (${kind})`, () => {
    let stack: UpstreamStack;
    let browser: Browser;
    before(async () => {
      [stack, browser] = await Promise.all([
        startStackOn(kind, { publicHost: 'localhost', upstream: { enableRemoteUserApi: false }, env: { GATEWAY_MFA: 'optional', GATEWAY_MFA_KEY: 'cd'.repeat(32), GATEWAY_PROVISIONING_FILE: mappingFile() } }),
        launchChromium(),
      ]);
    });
    after(async () => {
      await browser?.close();
      await stack?.stop();
    });

    it('adds a passkey on the account page (first factor: recovery codes), then signs in with it; its answer does not work twice', async () => {
      const base = `http://localhost:${stack.gateway.port}`;
      const context = await browser.newContext({ bypassCSP: false });
      const page = await context.newPage();
      // A platform authenticator that says yes without a person: the CDP virtual authenticator.
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });
      await page.goto(`${base}/accounts/security/passkeys/`);
      await password(page, 'alice');
      await page.waitForURL('**/accounts/security/passkeys/');
      await confirmInBrowser(page, 'alice');
      await page.getByLabel('Name of the device or key').fill('Laptop');
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      await page.getByRole('button', { name: 'Create the passkey' }).click();
      await page.locator('#recovery-codes').waitFor();
      assert.equal(await page.locator('#recovery-codes code').count(), 10, 'the first factor brings recovery codes');
      await page.getByRole('link', { name: 'Back to your account' }).click();
      await page.waitForURL('**/accounts/security/passkeys/');
      assert.match((await page.locator('#passkeys').textContent()) ?? '', /Laptop/);

      // A typed address is no page of ours: the gateway asks before it signs out.
      await page.goto(`${base}/accounts/logout/`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL('**/accounts/login/?loggedout=1');
      await page.goto(`${base}/documents/`);
      await password(page, 'alice');
      await page.waitForURL('**/accounts/login/verify/');
      const posted = page.waitForRequest((r) => r.url().endsWith('/accounts/login/verify/passkey'));
      await page.getByRole('button', { name: 'Use a passkey' }).click();
      const answer = new URLSearchParams((await posted).postData() ?? '').get('credential') ?? '';
      await page.waitForURL('**/documents/');
      assert.equal(await page.locator('#user').textContent(), 'alice');
      assert.match(stack.gateway.logs.join('\n'), /"proof":"password\+passkey"/);
      await context.close();

      // The same answer again, from another half-done sign-in of alice: its challenge was spent and
      // belonged to another session.
      const attacker = await browser.newContext();
      const other = await attacker.newPage();
      await other.goto(`${base}/accounts/login/`);
      await password(other, 'alice');
      await other.waitForURL('**/accounts/login/verify/');
      const csrf = await other.locator('input[name="_csrf"]').first().inputValue();
      const replay = await attacker.request.post(`${base}/accounts/login/verify/passkey`, { form: { _csrf: csrf, credential: answer }, headers: { origin: base }, maxRedirects: 0 });
      assert.equal(replay.status(), 401);
      assert.equal((await attacker.request.get(`${base}/api/ui_settings/`)).status(), 401);
      await other.goto(`${base}/accounts/logout/`);
      await attacker.close();
    });

    it('keeps several passkeys by name, and removes one once confirmed with a passkey, whose spent answer opens no window', async () => {
      const base = `http://localhost:${stack.gateway.port}`;
      const context = await browser.newContext();
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      await page.goto(`${base}/accounts/security/passkeys/`);
      await password(page, 'bob');
      await page.waitForURL('**/accounts/security/passkeys/');
      // The laptop's own authenticator, then a security key plugged in instead of it.
      let authenticator: string | undefined;
      for (const [name, transport] of [['Laptop', 'internal'], ['Security key', 'usb']] as const) {
        if (authenticator) await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: authenticator });
        ({ authenticatorId: authenticator } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
          options: { protocol: 'ctap2', transport, hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
        }));
        // Each new passkey is a changed factor, which ends the window: confirm again.
        await confirmInBrowser(page, 'bob');
        await page.getByLabel('Name of the device or key').fill(name);
        await page.getByRole('button', { name: 'Add a passkey' }).click();
        await page.getByRole('button', { name: 'Create the passkey' }).click();
        // The first factor answers with its recovery codes; a later one goes back to the account page.
        await page.waitForURL((url) => url.pathname === '/accounts/security/passkeys/', { timeout: 10_000 }).catch(async (err: Error) => {
          throw new Error(`${name}: ${err.message}; page ${page.url()} says "${await page.locator('[data-webauthn-status]').textContent().catch(() => '')}"`);
        });
        await page.goto(`${base}/accounts/security/passkeys/`);
      }
      await page.goto(`${base}/accounts/security/passkeys/`);
      assert.deepEqual((await page.locator('#passkeys strong').allTextContents()).sort(), ['Laptop', 'Security key']);
      // Confirmed with a passkey this time: the security key still plugged in answers.
      await page.getByRole('link', { name: "Confirm it's you" }).click();
      await page.waitForURL('**/accounts/security/confirm/**');
      const posted = page.waitForRequest((r) => r.url().endsWith('/accounts/security/confirm/passkey'));
      await page.getByRole('button', { name: 'Confirm with a passkey' }).click();
      const request = await posted;
      await page.waitForURL((url) => url.pathname === '/accounts/security/passkeys/');
      assert.match(stack.gateway.logs.join('\n'), /"event":"step_up.opened","username":"bob","via":"passkey"/);
      await page.getByLabel('Passkey', { exact: true }).selectOption({ label: 'Laptop' });
      await page.getByRole('button', { name: 'Remove the passkey' }).click();
      await page.waitForURL('**/accounts/security/passkeys/?done=passkey-removed');
      assert.deepEqual(await page.locator('#passkeys strong').allTextContents(), ['Security key']);
      // Removing it ended the window; the same answer again opens none: its challenge was spent.
      const replay = await context.request.post(request.url(), { form: Object.fromEntries(new URLSearchParams(request.postData() ?? '')), headers: { origin: base }, maxRedirects: 0 });
      assert.notEqual(replay.status(), 303, 'a spent answer opens no window');
      await page.goto(`${base}/accounts/security/confirm/?next=${encodeURIComponent('/accounts/security/passkeys/')}`);
      assert.equal(new URL(page.url()).pathname, '/accounts/security/confirm/', 'still asked to confirm');
      await context.close();
    });
  });
}
