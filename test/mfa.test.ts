/**
 * Second factors end to end on a real slapd and redis-server: enrolment by an admin's link and at
 * first sign-in, the second step with TOTP codes computed here (RFC 6238 written out in the
 * test), recovery codes, remembered devices, the account page, the `mfa` CLI, and the ways
 * around it an attacker would try (skipping the step, replaying a code, guessing, a flushed
 * store, apps with a password alone, forged forms).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { EnrolmentLinks } from '../src/mfa/enrolment-links.js';
import { MfaKeys } from '../src/mfa/mfa-keys.js';
import { redisKeys } from '../src/redis/keys.js';
import { runCliToEnd } from './support/gateway.js';
import type { Browser, Reply } from './support/http-client.js';
import { userDn } from './support/directory-data.js';
import { openSocket } from './support/status-socket.js';
import { startStack, type Stack } from './support/stack.js';
import { fieldsOn, secretOn, totp } from './support/totp.js';
import { confirmItsMe } from './support/account.js';

const MFA_KEY = 'ab'.repeat(32);
const EXTRA_USERS = ['dave', 'erin', 'frank', 'grace', 'heidi', 'ivan'];

function extraUsersLdif(): string {
  return EXTRA_USERS.map((u) => `dn: ${userDn(u)}\nobjectClass: inetOrgPerson\nuid: ${u}\ncn: ${u}\nsn: ${u}\nmail: ${u}@example.com\nuserPassword: ${u}-pass\n`).join('\n');
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const alertOf = (r: Reply) => /role="alert">([^<]+)</.exec(r.body)?.[1];

async function mfaCli(stack: Stack, ...args: string[]) {
  return runCliToEnd(['mfa', ...args], stack.gateway.env);
}

/**
 * An enrolment link for `username`: printed by `mfa issue` (a process of its own), or, where the
 * CLI is not what a test is about, issued in-process with the same keys (a second faster).
 */
async function enrolmentLink(stack: Stack, username: string, viaCli: boolean): Promise<URL> {
  if (viaCli) {
    const issued = await mfaCli(stack, 'issue', username);
    assert.equal(issued.code, 0, issued.stderr);
    return new URL(/http\S+enrol=\S+/.exec(issued.stdout)?.[0] ?? '');
  }
  const redis = new Redis(stack.redis.url);
  try {
    const token = await new EnrolmentLinks(redis, redisKeys('gateway:'), new MfaKeys(Buffer.from(MFA_KEY, 'hex')), 60_000).issue(username);
    return new URL(`/accounts/login/?enrol=${token}`, stack.gateway.url);
  } finally {
    redis.disconnect();
  }
}

/** Signs in with an enrolment link; returns the enrolment page. */
async function linkSignIn(stack: Stack, b: Browser, username: string, viaCli = false): Promise<Reply> {
  const link = await enrolmentLink(stack, username, viaCli);
  const page = await b.get(`${link.pathname}${link.search}`);
  assert.match(page.body, /name="enrol" value="[A-Za-z0-9_-]{32}"/, 'the form carries the link');
  const { _csrf, enrol } = fieldsOn(page.body, ['_csrf', 'enrol']);
  const res = await b.post('/accounts/login/', { username, password: `${username}-pass`, _csrf, next: '', enrol });
  assert.equal(res.status, 303, alertOf(res));
  assert.equal(res.headers.location, '/accounts/login/enrol/');
  return b.get('/accounts/login/enrol/');
}

/** Completes an enrolment page with a right code; returns the recovery codes shown. */
async function confirmEnrolment(b: Browser, page: Reply, code?: string): Promise<string[]> {
  const secret = secretOn(page.body);
  const res = await b.post('/accounts/login/enrol/', { ...fieldsOn(page.body, ['_csrf', 'enrolment']), code: code ?? totp(secret) });
  assert.equal(res.status, 200, alertOf(res));
  const codes = [...res.body.matchAll(/<li><code>([A-Z0-9-]+)<\/code><\/li>/g)].map((m) => m[1] as string);
  assert.equal(codes.length, 10);
  return codes;
}

/** Password, then the second step's page; returns what the code post answered. */
async function signInWithCode(b: Browser, username: string, code: string, extra: Record<string, string> = {}): Promise<Reply> {
  const res = await b.login(username, `${username}-pass`, '/documents/');
  assert.equal(res.status, 303, alertOf(res));
  assert.equal(res.headers.location, '/accounts/login/verify/');
  const page = await b.get('/accounts/login/verify/');
  assert.equal(page.status, 200);
  return b.post('/accounts/login/verify/', { _csrf: fieldsOn(page.body, ['_csrf'])._csrf as string, code, ...extra });
}

describe('second factors, required for everyone (GATEWAY_MFA=required, enrolment by link)', () => {
  let stack: Stack;
  const secrets = new Map<string, string>();
  const recovery = new Map<string, string[]>();

  before(async () => {
    stack = await startStack({ env: { GATEWAY_MFA: 'required', GATEWAY_MFA_KEY: MFA_KEY, GATEWAY_MFA_REMEMBER_DEVICE: '30d', GATEWAY_API_BASIC_AUTH_CACHE_TTL: '1s' }, sim: { enableRemoteUserApi: true } });
    await stack.slapd.ldapadd(extraUsersLdif());
  });
  after(async () => stack?.stop());

  it('refuses a password-only sign-in of someone who has no factor and no link, and starts no session', async () => {
    const b = stack.browser();
    const res = await b.login('erin', 'erin-pass');
    assert.equal(res.status, 403);
    assert.equal(alertOf(res), 'Your account needs a second factor, and none is set up. Ask your administrator for an enrolment link.');
    assert.equal((await b.get('/documents/')).status, 302);
    assert.equal(stack.sim.user('erin'), undefined, 'nothing is provisioned before the second factor');
  });

  it('enrols with an admin link: QR code and secret, a wrong first code keeps the same secret, a right one shows ten recovery codes', async () => {
    const b = stack.browser();
    const page = await linkSignIn(stack, b, 'alice', true);
    assert.equal(page.status, 200);
    assert.match(page.body, /<svg[^>]*viewBox/, 'an inline QR code');
    const secret = secretOn(page.body);
    // Half-way, the session has no user: Paperless is out of reach in every way.
    assert.equal((await b.get('/documents/')).status, 302);
    assert.equal((await b.get('/api/documents/')).status, 401);
    assert.equal(stack.sim.user('alice'), undefined);
    const wrong = await b.post('/accounts/login/enrol/', { ...fieldsOn(page.body, ['_csrf', 'enrolment']), code: '000000' === totp(secret) ? '111111' : '000000' });
    assert.equal(wrong.status, 401);
    assert.match(alertOf(wrong) ?? '', /not right/);
    assert.equal(secretOn(wrong.body), secret, 'the QR code already scanned stays valid');
    const codes = await confirmEnrolment(b, wrong);
    secrets.set('alice', secret);
    recovery.set('alice', codes);
    const docs = await b.get('/documents/');
    assert.equal(docs.status, 200);
    assert.match(docs.body, /id="user">alice</);
    assert.ok(stack.sim.user('alice'), 'provisioned once both factors were proven');
  });

  it('a link works once', async () => {
    const issued = await mfaCli(stack, 'issue', 'dave');
    const token = /enrol=(\S+)/.exec(issued.stdout)?.[1] as string;
    const first = stack.browser();
    await first.get(`/accounts/login/?enrol=${token}`);
    const page = await first.get(`/accounts/login/?enrol=${token}`);
    const res = await first.post('/accounts/login/', { username: 'dave', password: 'dave-pass', next: '', ...fieldsOn(page.body, ['_csrf', 'enrol']) });
    assert.equal(res.status, 303);
    await confirmEnrolment(first, await first.get('/accounts/login/enrol/'));
    const again = stack.browser();
    const page2 = await again.get(`/accounts/login/?enrol=${token}`);
    await mfaCli(stack, 'reset', 'dave');
    const reuse = await again.post('/accounts/login/', { username: 'dave', password: 'dave-pass', next: '', ...fieldsOn(page2.body, ['_csrf', 'enrol']) });
    assert.equal(reuse.status, 403);
    assert.match(alertOf(reuse) ?? '', /enrolment link is not valid/);
  });

  it("someone else's link does not enrol another account", async () => {
    const issued = await mfaCli(stack, 'issue', 'heidi');
    const token = /enrol=(\S+)/.exec(issued.stdout)?.[1] as string;
    const b = stack.browser();
    const page = await b.get(`/accounts/login/?enrol=${token}`);
    const res = await b.post('/accounts/login/', { username: 'erin', password: 'erin-pass', next: '', ...fieldsOn(page.body, ['_csrf', 'enrol']) });
    assert.equal(res.status, 403);
    assert.match(alertOf(res) ?? '', /belongs to another account/);
  });

  it('signs in with the next code; the same code is refused a second time (no replay)', async () => {
    const secret = secrets.get('alice') as string;
    const code = totp(secret, 1);
    const res = await signInWithCode(stack.browser(), 'alice', code);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/documents/');
    const replay = await signInWithCode(stack.browser(), 'alice', code);
    assert.equal(replay.status, 401);
    assert.match(alertOf(replay) ?? '', /used already/);
    const older = await signInWithCode(stack.browser(), 'alice', totp(secret, 0));
    assert.equal(older.status, 401, 'a code older than the last one used is spent too');
  });

  it('with only the password done, nothing reaches Paperless: pages, API, websocket, verify page of another session', async () => {
    const b = stack.browser();
    const res = await b.login('alice', 'alice-pass');
    assert.equal(res.headers.location, '/accounts/login/verify/');
    assert.equal((await b.get('/documents/')).status, 302);
    assert.equal((await b.get('/api/documents/')).status, 401);
    assert.equal((await b.get('/api/ui_settings/')).status, 401);
    const ws = await openSocket(`${stack.gateway.url.replace('http', 'ws')}/ws/status/`, { cookie: b.cookieHeader(), origin: stack.gateway.url });
    assert.equal(ws.ws, undefined, 'no websocket');
    assert.equal(ws.status, 401);
    assert.equal((await stack.browser().get('/accounts/login/verify/')).status, 303, 'a fresh browser has no second step to answer');
    assert.equal(stack.sim.requests.filter((r) => r.remoteUser === 'alice' && r.path === '/api/ui_settings/').length, 0);
  });

  it('"Cancel" at the second step ends the half-done sign-in', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    const page = await b.get('/accounts/login/verify/');
    assert.match(page.body, /href="\/accounts\/logout\/">Cancel</);
    // A phone brings up digits for the app's code, letters only in the recovery code's own field.
    assert.match(page.body, /<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"/);
    assert.match(page.body, /<input id="recovery-code" name="code" type="text" inputmode="text"/);
    const stolen = b.jar.get('gateway_session') as string;
    await b.get('/accounts/logout/');
    const replayed = stack.browser();
    replayed.jar.set('gateway_session', stolen);
    assert.equal((await replayed.get('/accounts/login/verify/')).status, 303, 'the pending session is gone from the store, not only from the browser');
  });

  it('a recovery code signs in once', async () => {
    const [code] = recovery.get('alice') as string[];
    const res = await signInWithCode(stack.browser(), 'alice', (code as string).toLowerCase());
    assert.equal(res.status, 303, 'case and dashes do not matter');
    const again = await signInWithCode(stack.browser(), 'alice', code as string);
    assert.equal(again.status, 401);
  });

  it('apps and scripts with the password alone are refused: /api/token/ and Basic', async () => {
    const token = await stack.browser().post('/api/token/', { username: 'alice', password: 'alice-pass' });
    assert.equal(token.status, 400);
    assert.match(token.body, /second factor/);
    const b = stack.browser();
    const basicRes = await b.request('GET', '/api/documents/', { headers: [['Authorization', basic('alice', 'alice-pass')]] });
    assert.equal(basicRes.status, 403);
    assert.equal(stack.sim.requests.filter((r) => r.rawHeaders.some(([n, v]) => n.toLowerCase() === 'authorization' && v.startsWith('Basic'))).length, 0);
  });

  it('remembers a device for the person and generation it was given; a reset forgets it', async () => {
    const b = stack.browser();
    const page = await linkSignIn(stack, b, 'bob');
    const secret = secretOn(page.body);
    await confirmEnrolment(b, page);
    const res = await signInWithCode(b, 'bob', totp(secret, 1), { remember_device: '1' });
    assert.equal(res.status, 303);
    const device = res.setCookies.find((c) => c.startsWith('gateway_session_device='));
    assert.ok(device, 'a device cookie');
    assert.match(device, /HttpOnly/i);
    assert.match(device, /Path=\/accounts\/login\//i);
    const again = await b.login('bob', 'bob-pass', '/documents/');
    assert.equal(again.headers.location, '/documents/', 'no second step on a remembered device');
    // Another person on the same browser still needs their own second step.
    const alice = await b.login('alice', 'alice-pass');
    assert.equal(alice.headers.location, '/accounts/login/verify/');
    await mfaCli(stack, 'reset', 'bob');
    const afterReset = await b.login('bob', 'bob-pass');
    assert.equal(afterReset.status, 403, 'after a reset the device is forgotten, and bob must enrol again');
  });

  it('replacing the authenticator app on the account page forgets the devices remembered before', async () => {
    const b = stack.browser();
    const page = await linkSignIn(stack, b, 'ivan');
    const secret = secretOn(page.body);
    await confirmEnrolment(b, page);
    const res = await signInWithCode(b, 'ivan', totp(secret, 1), { remember_device: '1' });
    assert.equal(res.status, 303);
    assert.equal((await b.login('ivan', 'ivan-pass', '/documents/')).headers.location, '/documents/', 'the device is remembered');
    await confirmItsMe(b, { password: 'ivan-pass' });
    const setup = await b.get('/accounts/security/totp/');
    const replacement = secretOn(setup.body);
    assert.notEqual(replacement, secret);
    const done = await b.post('/accounts/security/totp/', { ...fieldsOn(setup.body, ['_csrf', 'enrolment']), code: totp(replacement), password: 'ivan-pass' });
    assert.equal(done.status, 200, alertOf(done));
    assert.match(done.body, /id="recovery-codes"/);
    const again = await b.login('ivan', 'ivan-pass', '/documents/');
    assert.equal(again.headers.location, '/accounts/login/verify/', 'the device remembered with the old app asks for a code again');
    const verify = await b.get('/accounts/login/verify/');
    const old = await b.post('/accounts/login/verify/', { _csrf: fieldsOn(verify.body, ['_csrf'])._csrf as string, code: totp(secret, 2) });
    assert.equal(old.status, 401, "and the old app's codes do not answer it");
  });

  it('bans the second step after repeated wrong codes, even for the right code, with Retry-After', async () => {
    const b = stack.browser();
    const page = await linkSignIn(stack, b, 'frank');
    const secret = secretOn(page.body);
    await confirmEnrolment(b, page);
    const wrong = totp(secret, 1) === '123456' ? '654321' : '123456';
    let last: Reply | undefined;
    for (let i = 0; i < 6; i++) last = await signInWithCode(stack.browser(), 'frank', wrong);
    assert.equal(last?.status, 429);
    assert.ok(Number(last?.headers['retry-after']) > 0);
    const right = await signInWithCode(stack.browser(), 'frank', totp(secret, 1));
    assert.equal(right.status, 429, 'banned means banned');
    assert.match(stack.gateway.logs.join('\n'), /"event":"regulation.ban","step":"second-factor"/);
  });

  it('refuses forged second-step and enrolment posts (no token, another origin)', async () => {
    const b = stack.browser();
    const page = await linkSignIn(stack, b, 'grace');
    const fields = fieldsOn(page.body, ['_csrf', 'enrolment']);
    const code = totp(secretOn(page.body));
    const noToken = await b.post('/accounts/login/enrol/', { enrolment: fields.enrolment as string, code });
    assert.equal(noToken.status, 403);
    const foreign = await b.post('/accounts/login/enrol/', { ...fields, code }, { headers: [['Origin', 'https://evil.example']] });
    assert.equal(foreign.status, 403);
    // A sealed enrolment of another session does not open in this one.
    const other = stack.browser();
    const otherPage = await linkSignIn(stack, other, 'grace');
    const swapped = await other.post('/accounts/login/enrol/', { ...fieldsOn(otherPage.body, ['_csrf']), enrolment: fields.enrolment as string, code });
    assert.equal(swapped.status, 400);
    assert.match(alertOf(swapped) ?? '', /took too long/);
  });

  it('the account page shows the factor and makes new recovery codes only with the password', async () => {
    const b = stack.browser();
    const res = await signInWithCode(b, 'alice', (recovery.get('alice') as string[])[1] as string);
    assert.equal(res.status, 303);
    const page = await b.get('/accounts/security/authenticator/');
    assert.equal(page.status, 200);
    assert.match(page.body, /id="totp-status">Turned on since/);
    assert.doesNotMatch(page.body, /action="\/accounts\/security\/totp\/remove"/, 'a required factor cannot be turned off');
    const codesPage = await b.get('/accounts/security/recovery-codes/');
    assert.match(codesPage.body, /Unused recovery codes: <strong>8</);
    const { _csrf } = fieldsOn(codesPage.body, ['_csrf']);
    const wrong = await b.post('/accounts/security/recovery-codes', { _csrf, password: 'nope' });
    assert.equal(wrong.status, 401);
    const forged = await b.post('/accounts/security/recovery-codes', { _csrf: 'x', password: 'alice-pass' });
    assert.equal(forged.status, 403);
    const fresh = await b.post('/accounts/security/recovery-codes', { _csrf, password: 'alice-pass' });
    assert.equal(fresh.status, 200);
    const codes = [...fresh.body.matchAll(/<li><code>([A-Z0-9-]+)<\/code><\/li>/g)].map((m) => m[1] as string);
    assert.equal(codes.length, 10);
    const old = await signInWithCode(stack.browser(), 'alice', (recovery.get('alice') as string[])[2] as string);
    assert.equal(old.status, 401, 'old codes are gone');
    recovery.set('alice', codes);
    assert.equal((await stack.browser().get('/accounts/security/')).status, 303, 'signed out: to the sign-in page');
  });

  it('app passwords: made on the account page, shown once, they sign apps and scripts in; revoking one signs its app out', async () => {
    const b = stack.browser();
    assert.equal((await signInWithCode(b, 'alice', (recovery.get('alice') as string[])[0] as string)).status, 303);
    const page = await b.get('/accounts/security/app-passwords/');
    const { _csrf } = fieldsOn(page.body, ['_csrf']);
    assert.equal((await b.post('/accounts/security/app-passwords', { _csrf, name: 'Phone', password: 'nope' })).status, 401, 'the password is asked again');
    const created = await b.post('/accounts/security/app-passwords', { _csrf, name: 'Phone', password: 'alice-pass' });
    assert.equal(created.status, 200);
    const value = /id="app-password">([a-z0-9-]+)</.exec(created.body)?.[1] as string;
    assert.match(value, /^([a-z2-9]{4}-){4}[a-z2-9]{4}$/);
    const listed = await b.get('/accounts/security/app-passwords/');
    assert.match(listed.body, /<strong>Phone<\/strong>/);
    assert.ok(!listed.body.includes(value), 'never shown again');
    assert.equal((await b.post('/accounts/security/app-passwords', { _csrf, name: 'phone', password: 'alice-pass' })).status, 400, 'names are unique');

    const app = await stack.browser().post('/api/token/', { username: 'alice', password: value.toUpperCase() });
    assert.equal(app.status, 200, app.body);
    const token = JSON.parse(app.body).token as string;
    assert.equal((await stack.browser().request('GET', '/api/ui_settings/', { headers: [['Authorization', `Token ${token}`]] })).status, 200);
    const script = await stack.browser().request('GET', '/api/ui_settings/', { headers: [['Authorization', basic('alice', value)]] });
    const cached = Date.now();
    assert.equal(script.status, 200);
    assert.equal((await stack.browser().post('/api/token/', { username: 'alice', password: 'alice-pass' })).status, 400, 'the directory password still is not enough');
    assert.equal((await stack.browser().login('alice', value)).status, 401, 'an app password is no browser password');

    const id = /name="id" value="([^"]+)"/.exec(listed.body)?.[1] as string;
    const revoked = await b.post('/accounts/security/app-passwords/revoke', { _csrf, id });
    assert.equal(revoked.status, 303);
    assert.equal(revoked.headers.location, '/accounts/security/app-passwords/?done=app-revoked-token');
    assert.equal((await stack.browser().post('/api/token/', { username: 'alice', password: value })).status, 400);
    const oldToken = await stack.browser().request('GET', '/api/ui_settings/', { headers: [['Authorization', `Token ${token}`]] });
    assert.ok(oldToken.status === 401 || oldToken.status === 403, `the token it fetched is void (${oldToken.status})`);
    // Until the Basic cache's TTL (1 s) since the entry was made has passed: an in-memory cache (this process, this clock).
    await new Promise((r) => setTimeout(r, Math.max(0, cached + 1001 - Date.now())));
    assert.equal((await stack.browser().request('GET', '/api/ui_settings/', { headers: [['Authorization', basic('alice', value)]] })).status, 401, 'Basic stops once the cache entry ages out (then it is a wrong password)');
  });

  it('mfa list names who has a factor; usage errors exit 2', async () => {
    const list = await mfaCli(stack, 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^alice\tauthenticator app since \d{4}-\d\d-\d\d\t9 recovery codes left\t0 app passwords$/m, 'the revoked app password is gone');
    assert.match(list.stdout, /^bob\tno factor/m);
    const bad = await mfaCli(stack, 'issue');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /usage: paperless-ldap-gateway mfa issue USER/);
  });

  it('a flushed store downgrades nobody: the password alone still does not sign in', async () => {
    const redis = new Redis(stack.redis.url);
    await redis.flushall();
    redis.disconnect();
    const res = await stack.browser().login('alice', 'alice-pass');
    assert.equal(res.status, 403);
    assert.match(alertOf(res) ?? '', /Ask your administrator for an enrolment link/);
  });
});

describe('second factors, optional, required for one group, enrolment at first sign-in', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      env: { GATEWAY_MFA: 'optional', GATEWAY_MFA_REQUIRED_GROUPS: 'paperless-admins', GATEWAY_MFA_ENROLMENT: 'first-login', GATEWAY_MFA_KEY: MFA_KEY },
      sim: { enableRemoteUserApi: true },
    });
  });
  after(async () => stack?.stop());

  it('a required group member enrols at their first sign-in; once Paperless knows them, a lost store needs a link', async () => {
    const b = stack.browser();
    const res = await b.login('alice', 'alice-pass');
    assert.equal(res.headers.location, '/accounts/login/enrol/');
    await confirmEnrolment(b, await b.get('/accounts/login/enrol/'));
    assert.ok(stack.sim.user('alice'));
    const redis = new Redis(stack.redis.url);
    await redis.del(...(await redis.keys('*mfa:factors:alice')));
    redis.disconnect();
    const again = await stack.browser().login('alice', 'alice-pass');
    assert.equal(again.status, 403, 'not a first sign-in any more');
  });

  it('someone who chose a factor is not downgraded when their record vanishes from Redis while the gateway runs', async () => {
    const b = stack.browser();
    assert.equal((await b.login('carol', 'carol-pass')).status, 303);
    await confirmItsMe(b, { password: 'carol-pass' });
    const setup = await b.get('/accounts/security/totp/');
    const secret = secretOn(setup.body);
    const done = await b.post('/accounts/security/totp/', { ...fieldsOn(setup.body, ['_csrf', 'enrolment']), code: totp(secret), password: 'carol-pass' });
    assert.equal(done.status, 200);
    const redis = new Redis(stack.redis.url);
    await redis.del(...(await redis.keys('*mfa:factors:carol')));
    redis.disconnect();
    const res = await stack.browser().login('carol', 'carol-pass');
    assert.equal(res.status, 403, 'not a password-only sign-in');
    assert.match(alertOf(res) ?? '', /Ask your administrator for an enrolment link/);
    assert.equal((await stack.browser().post('/api/token/', { username: 'carol', password: 'carol-pass' })).status, 400);
    assert.match(stack.gateway.logs.join('\n'), /"event":"mfa.store_lost","username":"carol"/);
  });

  it('others sign in with the password, may turn on a factor on the account page, and then must use it', async () => {
    const b = stack.browser();
    const res = await b.login('bob', 'bob-pass');
    assert.equal(res.status, 303);
    assert.notEqual(res.headers.location, '/accounts/login/verify/');
    const app = await stack.browser().post('/api/token/', { username: 'bob', password: 'bob-pass' });
    assert.equal(app.status, 200, `apps too, while bob has no factor: ${app.body}\n${stack.gateway.logs.slice(-5).join('\n')}`);
    const account = await b.get('/accounts/security/authenticator/');
    assert.match(account.body, /id="totp-status">Not set up/);
    await confirmItsMe(b, { password: 'bob-pass' });
    const setup = await b.get('/accounts/security/totp/');
    const secret = secretOn(setup.body);
    const fields = fieldsOn(setup.body, ['_csrf', 'enrolment']);
    const noPassword = await b.post('/accounts/security/totp/', { ...fields, code: totp(secret), password: 'wrong' });
    assert.equal(noPassword.status, 401);
    const done = await b.post('/accounts/security/totp/', { ...fields, code: totp(secret), password: 'bob-pass' });
    assert.equal(done.status, 200);
    assert.match(done.body, /id="recovery-codes"/);
    const next = await stack.browser().login('bob', 'bob-pass');
    assert.equal(next.headers.location, '/accounts/login/verify/');
    assert.equal((await stack.browser().post('/api/token/', { username: 'bob', password: 'bob-pass' })).status, 400, 'apps are refused once bob uses a factor');
    const page = await b.get('/accounts/security/authenticator/');
    const removed = await b.post('/accounts/security/totp/remove', { ...fieldsOn(page.body, ['_csrf']), password: 'bob-pass' });
    assert.equal(removed.status, 303);
    assert.match((await b.get('/accounts/security/authenticator/?done=removed')).body, /The authenticator app was removed/);
    assert.notEqual((await stack.browser().login('bob', 'bob-pass')).headers.location, '/accounts/login/verify/');
  });
});
