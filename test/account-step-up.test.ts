/**
 * "Confirm it's you" on the account page (src/web/account-confirm.ts, src/session/step-up.ts):
 * one step-up opens a ten-minute window for the session's sensitive actions; outside it an action
 * is not done and leads to the step-up and back to its page, never replayed. The window is the
 * session's alone, ends when it runs out (its end in Redis, as time passing leaves it), when a
 * factor or the password changes, and with the session. On a real slapd and redis-server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { redisKeys } from '../src/redis/keys.js';
import { confirmItsMe } from './support/account.js';
import { userDn } from './support/directory-data.js';
import type { Browser } from './support/http-client.js';
import { startStack, type Stack } from './support/stack.js';
import { fieldsOn, secretOn, totp } from './support/totp.js';

const CONFIRM = '/accounts/security/confirm/';
const EXTRA_USERS = ['dave', 'erin', 'frank', 'grace', 'heidi'];

describe('account page: confirm once (the step-up window)', () => {
  let stack: Stack;
  let redis: Redis;
  const keys = redisKeys('gw:');
  before(async () => {
    stack = await startStack({ slapd: { ppolicy: true }, env: { GATEWAY_MFA: 'optional', GATEWAY_MFA_KEY: 'ab'.repeat(32), GATEWAY_REDIS_KEY_PREFIX: 'gw:' } });
    redis = new Redis(stack.redis.url);
    await stack.slapd.ldapadd(EXTRA_USERS.map((u) => `dn: ${userDn(u)}\nobjectClass: inetOrgPerson\nuid: ${u}\ncn: ${u}\nsn: ${u}\nuserPassword: ${u}-pass\n`).join('\n'));
  });
  after(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  async function signedIn(username: string): Promise<Browser> {
    const b = stack.browser();
    assert.equal((await b.login(username, `${username}-pass`)).status, 303);
    return b;
  }

  /** Makes an app password without typing the password; the answer says whether it was made. */
  async function makeAppPassword(b: Browser, name: string) {
    const page = await b.get('/accounts/security/app-passwords/');
    return b.post('/accounts/security/app-passwords', { ...fieldsOn(page.body, ['_csrf']), name });
  }

  const appPasswordsOf = async (b: Browser) => [...(await b.get('/accounts/security/app-passwords/')).body.matchAll(/<strong>([^<]+)<\/strong><br><span class="hint">Created/g)].map((m) => m[1]);

  it('outside the window an action is not done: to the step-up, then back to its page by GET; inside, actions ask for nothing', async () => {
    const b = await signedIn('alice');
    const account = await b.get('/accounts/security/app-passwords/');
    assert.doesNotMatch(account.body, /name="password"/, 'no form on the page asks for the password');
    assert.match(account.body, /id="step-up">Changes to how you sign in ask you to confirm it&#39;s you first/);
    const refused = await makeAppPassword(b, 'Phone');
    assert.equal(refused.status, 303);
    assert.equal(refused.headers.location, `${CONFIRM}?next=%2Faccounts%2Fsecurity%2Fapp-passwords%2F`);
    assert.deepEqual(await appPasswordsOf(b), [], 'nothing was made');
    const enrol = await b.get('/accounts/security/totp/');
    assert.equal(enrol.headers.location, `${CONFIRM}?next=%2Faccounts%2Fsecurity%2Ftotp%2F`, 'a page that sets up a factor is one too');

    const confirmed = await confirmItsMe(b, { password: 'alice-pass' }, '/accounts/security/totp/');
    assert.equal(confirmed.status, 303);
    assert.equal(confirmed.headers.location, '/accounts/security/totp/', 'back to the page, not to the action');
    assert.equal(await redis.pttl(keys.stepUp('alice')) > 9 * 60_000, true, 'a window of ten minutes');
    assert.match(stack.gateway.logs.join('\n'), /"event":"step_up.opened","username":"alice","via":"password"/);
    assert.deepEqual(await appPasswordsOf(b), [], 'the action that led there was not replayed');

    assert.equal((await makeAppPassword(b, 'Phone')).status, 200);
    assert.equal((await makeAppPassword(b, 'Tablet')).status, 200, 'and the next one asks for nothing either');
    assert.deepEqual((await appPasswordsOf(b)).sort(), ['Phone', 'Tablet']);
    const enrolPage = await b.get('/accounts/security/totp/');
    assert.equal(enrolPage.status, 200);
    assert.match(enrolPage.body, /<title>Set up an authenticator app · [^<]*<\/title>/, 'the title is text alone');
    assert.match(stack.gateway.logs.join('\n'), /"event":"step_up.opened","username":"alice","via":"password"/);
    assert.match((await b.get('/accounts/security/app-passwords/')).body, /id="step-up">You confirmed it&#39;s you: changes ask for nothing until <time/);
    // Already confirmed: the step-up page sends on at once.
    assert.equal((await b.get(`${CONFIRM}?next=%2Faccounts%2Fsecurity%2F`)).headers.location, '/accounts/security/');
  });

  it('the window is the session\'s own: another session of the same person, and a session after sign-out, have none', async () => {
    const laptop = await signedIn('bob');
    const phone = await signedIn('bob');
    await confirmItsMe(laptop, { password: 'bob-pass' });
    assert.equal((await makeAppPassword(phone, 'Phone')).status, 303, 'the other session must confirm itself');
    assert.equal((await makeAppPassword(laptop, 'Laptop')).status, 200);
    assert.equal((await laptop.get('/accounts/logout/')).status, 303);
    const again = await signedIn('bob');
    assert.equal((await makeAppPassword(again, 'Later')).status, 303, 'signed out and in again: no window');
    assert.deepEqual(await appPasswordsOf(again), ['Laptop']);
  });

  it('ends when its time is up, as stored, and when its record has gone', async () => {
    const b = await signedIn('carol');
    await confirmItsMe(b, { password: 'carol-pass' });
    assert.equal((await makeAppPassword(b, 'One')).status, 200);
    // The ten minutes passed: the stored end is in the past (the key itself lives a little longer).
    const [field] = await redis.hkeys(keys.stepUp('carol'));
    await redis.hset(keys.stepUp('carol'), field as string, String(Date.now() - 1));
    assert.equal((await makeAppPassword(b, 'Two')).status, 303);
    await confirmItsMe(b, { password: 'carol-pass' });
    assert.equal((await makeAppPassword(b, 'Two')).status, 200);
    await redis.pexpire(keys.stepUp('carol'), 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await makeAppPassword(b, 'Three')).status, 303);
  });

  it('ends for every session when a factor changes; a code of the authenticator app opens it too', async () => {
    const laptop = await signedIn('dave');
    const phone = await signedIn('dave');
    await confirmItsMe(laptop, { password: 'dave-pass' });
    await confirmItsMe(phone, { password: 'dave-pass' });
    const setup = await laptop.get('/accounts/security/totp/');
    const secret = secretOn(setup.body);
    assert.doesNotMatch(setup.body, /name="password"/, 'inside the window, enrolment asks for the code alone');
    const enrolled = await laptop.post('/accounts/security/totp/', { ...fieldsOn(setup.body, ['_csrf', 'enrolment']), code: totp(secret) });
    assert.equal(enrolled.status, 200);
    assert.match(enrolled.body, /id="recovery-codes"/);
    assert.equal((await makeAppPassword(laptop, 'A')).status, 303, 'a new factor ends the window of the session that added it');
    assert.equal((await makeAppPassword(phone, 'A')).status, 303, 'and of every other session');

    const withCode = await confirmItsMe(phone, { code: totp(secret, 1) });
    assert.equal(withCode.status, 303, withCode.body);
    assert.match(stack.gateway.logs.join('\n'), /"event":"step_up.opened","username":"dave","via":"totp"/);
    assert.equal((await makeAppPassword(phone, 'A')).status, 200);
    const codes = [...enrolled.body.matchAll(/<li><code>([A-Z0-9-]+)<\/code><\/li>/g)].map((m) => m[1] as string);
    await redis.del(keys.stepUp('dave'));
    assert.equal((await confirmItsMe(phone, { code: codes[0] as string })).status, 401, 'a recovery code is for a lost phone, not for this');
    assert.equal((await confirmItsMe(phone, { password: 'dave-pass' })).status, 303);
    const removal = await phone.get('/accounts/security/authenticator/');
    assert.equal((await phone.post('/accounts/security/totp/remove', fieldsOn(removal.body, ['_csrf']))).status, 303);
    assert.equal((await makeAppPassword(phone, 'B')).status, 303, 'removing a factor ends it as well');
  });

  it('a passkey\'s answer after the window ended is refused, though its options were asked inside it', async () => {
    const b = await signedIn('heidi');
    await confirmItsMe(b, { password: 'heidi-pass' });
    const page = await b.get('/accounts/security/passkeys/');
    // This stack's public URL is http://127.0.0.1:…, where browsers make no passkeys: the form is not offered.
    assert.match(page.body, /id="passkeys-unavailable">Passkeys cannot be added here/);
    assert.doesNotMatch(page.body, /action="\/accounts\/security\/passkeys\/new"/);
    const { _csrf } = fieldsOn((await b.get('/accounts/security/app-passwords/')).body, ['_csrf']);
    const options = await b.post('/accounts/security/passkeys/new', { _csrf, name: 'Laptop' });
    assert.equal(options.status, 200);
    // Inside the window a made-up answer fails its own check; after it, the window is asked first.
    assert.equal((await b.post('/accounts/security/passkeys/', { _csrf, name: 'Laptop', credential: '{}' })).status, 400);
    await redis.del(keys.stepUp('heidi'));
    const late = await b.post('/accounts/security/passkeys/', { _csrf, name: 'Laptop', credential: '{}' });
    assert.equal(late.status, 409);
    assert.match(late.body, /Your confirmation ran out before the passkey was made/);
  });

  it('ends for every session when the password changes', async () => {
    const b = await signedIn('erin');
    await confirmItsMe(b, { password: 'erin-pass' });
    const page = await b.get('/accounts/security/password/');
    const changed = await b.post('/accounts/security/password', { ...fieldsOn(page.body, ['_csrf']), current: 'erin-pass', new_password: 'Erin-Changed-1', new_password2: 'Erin-Changed-1' });
    assert.equal(changed.status, 303, changed.body);
    assert.equal((await makeAppPassword(b, 'After')).status, 303);
    assert.equal((await confirmItsMe(b, { password: 'erin-pass' })).status, 401, 'the old password opens nothing');
    assert.equal((await confirmItsMe(b, { password: 'Erin-Changed-1' })).status, 303);
  });

  it('a password in the form itself is checked, opens the window and is logged as such', async () => {
    const b = await signedIn('carol');
    const page = await b.get('/accounts/security/app-passwords/');
    const wrong = await b.post('/accounts/security/app-passwords', { ...fieldsOn(page.body, ['_csrf']), name: 'Wrong', password: 'nope' });
    assert.equal(wrong.status, 401);
    const made = await b.post('/accounts/security/app-passwords', { ...fieldsOn(page.body, ['_csrf']), name: 'Inline', password: 'carol-pass' });
    assert.equal(made.status, 200);
    assert.match(stack.gateway.logs.join('\n'), /"event":"step_up.opened","username":"carol","via":"password-in-form"/);
    assert.equal((await makeAppPassword(b, 'Next')).status, 200, 'the window it opened holds');
  });

  it('refuses a wrong password, an app password and a wrong code, each as a failed sign-in; a form from elsewhere; and never sends on to another site', async () => {
    const b = await signedIn('frank');
    await confirmItsMe(b, { password: 'frank-pass' });
    const made = await makeAppPassword(b, 'Script');
    const appPassword = /id="app-password">([a-z0-9-]+)</.exec(made.body)?.[1] as string;
    await redis.del(keys.stepUp('frank'));

    const wrong = await confirmItsMe(b, { password: 'nope' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /id="confirm-error" role="alert"/);
    assert.equal((await confirmItsMe(b, { password: appPassword })).status, 401, 'an app password never opens a window');
    assert.equal((await confirmItsMe(b, { code: '000000' })).status, 401, 'frank has no authenticator app: no code is right');
    assert.match(stack.gateway.logs.join('\n'), /"event":"login.failure".*"username":"frank"/);
    assert.equal((await makeAppPassword(b, 'Other')).status, 303, 'still closed');

    const page = await b.get(CONFIRM);
    const forged = await b.post(CONFIRM, { _csrf: 'x', next: '/accounts/security/', password: 'frank-pass' });
    assert.equal(forged.status, 403);
    for (const next of ['https://evil.example/', '//evil.example/', '/accounts/security/../../admin/', '/\\evil.example/', '/documents/', CONFIRM]) {
      const res = await b.post(CONFIRM, { _csrf: fieldsOn(page.body, ['_csrf'])._csrf, next, password: 'frank-pass' });
      assert.equal(res.status, 303);
      assert.equal(res.headers.location, '/accounts/security/', `next=${next}`);
    }
  });

  it('bans after as many wrong passwords at the step-up as at sign-in (GATEWAY_REGULATION_MAX_FAILURES_USER_IP, 4)', async () => {
    const b = await signedIn('grace');
    for (let i = 0; i < 4; i++) assert.equal((await confirmItsMe(b, { password: `wrong-${i}` })).status, 401);
    const right = await confirmItsMe(b, { password: 'grace-pass' });
    assert.equal(right.status, 401, 'the right password too, while banned');
    assert.ok(Number(right.headers['retry-after']) >= 1, 'with Retry-After, as a banned sign-in');
    assert.match(stack.gateway.logs.join('\n'), /"event":"login.failure","via":"form","reason":"BannedError","detail":"banned by the user\+ip limit","username":"grace"/);
    assert.equal((await makeAppPassword(b, 'Banned')).status, 303, 'no window opened');
  });
});
