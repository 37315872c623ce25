/**
 * Password self-service in Debian's Chromium, on slapd with the ppolicy overlay: changing the
 * password on the account page, the change a reset password asks for at sign-in, and the expiry
 * notice; each page checked with axe-core.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { BASE_DN, userDn } from './support/directory-data.js';
import { axeViolations, launchChromium } from './support/chromium.js';
import { startStack, type Stack } from './support/stack.js';
import { PPOLICY_LDIF } from './support/ppolicy.js';

const serious = (vs: Awaited<ReturnType<typeof axeViolations>>) => vs.filter((v) => v.impact === 'serious' || v.impact === 'critical');

const WARNED = `dn: cn=warned-soon,ou=policies,${BASE_DN}
objectClass: device
objectClass: pwdPolicy
cn: warned-soon
pwdAttribute: userPassword
pwdMaxAge: 432000
pwdExpireWarning: 2592000
pwdAllowUserChange: TRUE
`;

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('in Chromium: passwords', () => {
  let stack: Stack;
  let browser: Browser;
  before(async () => {
    [stack, browser] = await Promise.all([startStack({ slapd: { ppolicy: true } }), launchChromium()]);
    await stack.slapd.ldapadd(`${PPOLICY_LDIF}\n${WARNED}`);
    // Under the short-lived policy, then a password set now (so the overlay knows when it was set).
    await stack.slapd.ldapadd(`dn: ${userDn('carol')}\nchangetype: modify\nadd: pwdPolicySubentry\npwdPolicySubentry: cn=warned-soon,ou=policies,${BASE_DN}\n`, true);
    await stack.slapd.ldapadd(`dn: ${userDn('carol')}\nchangetype: modify\nreplace: userPassword\nuserPassword: carol-pass\n`, true);
    await stack.slapd.ldapadd(`dn: ${userDn('alice')}\nchangetype: modify\nreplace: userPassword\nuserPassword: alice-reset\n`, true);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('changes the password on the account page, with the reason when the directory refuses', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${stack.gateway.url}/accounts/security/password/`);
    await signIn(page, 'bob', 'bob-pass');
    await page.waitForURL('**/accounts/security/password/');
    await page.getByLabel('Current password').fill('bob-pass');
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByLabel('New password again').fill('short');
    await page.getByRole('button', { name: 'Change the password' }).click();
    assert.equal(await page.getByRole('alert').textContent(), 'The new password is too short.');
    assert.deepEqual(serious(await axeViolations(page)), []);
    await page.getByLabel('Current password').fill('bob-pass');
    await page.getByLabel('New password', { exact: true }).fill('Bob-Browser-1');
    await page.getByLabel('New password again').fill('Bob-Browser-1');
    await page.getByRole('button', { name: 'Change the password' }).click();
    await page.waitForURL('**/accounts/security/password/?done=password-changed');
    assert.equal(await page.getByRole('status').textContent(), 'Your password was changed.');
    await context.close();
  });

  it('a reset password: the change form comes straight after the sign-in, then Paperless', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${stack.gateway.url}/documents/`);
    await signIn(page, 'alice', 'alice-reset');
    await page.waitForURL('**/accounts/login/password/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-password');
    assert.deepEqual(serious(await axeViolations(page)), []);
    await page.getByLabel('New password', { exact: true }).fill('Alice-Browser-1');
    await page.getByLabel('New password again').fill('Alice-Browser-1');
    await page.getByRole('button', { name: 'Change the password and continue' }).click();
    await page.waitForURL('**/documents/');
    assert.equal(await page.locator('#user').textContent(), 'alice');
    await context.close();
  });

  it('a password about to expire: a notice with the days left, and on to Paperless', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${stack.gateway.url}/documents/`);
    await signIn(page, 'carol', 'carol-pass');
    await page.waitForURL('**/accounts/security/password-expiring?**');
    assert.match((await page.locator('#expiry').textContent()) ?? '', /Days until your password expires: [45]/);
    assert.deepEqual(serious(await axeViolations(page)), []);
    await page.getByRole('link', { name: 'Continue to Paperless' }).click();
    await page.waitForURL('**/documents/');
    assert.equal(await page.locator('#user').textContent(), 'carol');
    await context.close();
  });
});
