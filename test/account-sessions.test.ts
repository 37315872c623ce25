/**
 * The account page's list of one's own sessions, and the admin's `sessions` command, on a real
 * redis-server: browser and address, signing out one session, all others or all, and never
 * anyone else's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCliToEnd } from './support/gateway.js';
import type { Browser } from './support/http-client.js';
import { userDn } from './support/directory-data.js';
import { startStack, type Stack } from './support/stack.js';
import { fieldsOn } from './support/totp.js';

const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
const SAFARI = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

describe('account page: where you are signed in', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_LDAP_ALLOWED_GROUPS: 'paperless-users' } });
  });
  after(async () => stack?.stop());

  async function signedIn(username: string, userAgent: string): Promise<Browser> {
    const b = stack.browser();
    const page = await b.get('/accounts/login/', { headers: [['User-Agent', userAgent]] });
    const res = await b.post('/accounts/login/', { username, password: `${username}-pass`, _csrf: fieldsOn(page.body, ['_csrf'])._csrf, next: '' }, { headers: [['User-Agent', userAgent]] });
    assert.equal(res.status, 303);
    return b;
  }

  it('lists every session of mine with browser, address and times, marks this one, and signs out another', async () => {
    const laptop = await signedIn('alice', FIREFOX);
    const phone = await signedIn('alice', SAFARI);
    const bob = await signedIn('bob', FIREFOX);
    const page = await laptop.get('/accounts/security/sessions/');
    assert.equal(page.status, 200);
    const items = [...page.body.matchAll(/<li( aria-current="true")?>\s*<span><strong>([^<]+)<\/strong>/g)].map((m) => `${m[2]}${m[1] ? ' (current)' : ''}`);
    assert.deepEqual(items.sort(), ['Firefox · Windows (current)', 'Safari · iOS'].sort());
    assert.match(page.body, /127\.0\.0\.1 · Signed in <time datetime="\d{4}-/);
    assert.equal((page.body.match(/name="session" value=/g) ?? []).length, 1, 'one sign-out button: not for this browser');
    const { _csrf, session } = fieldsOn(page.body, ['_csrf', 'session']);
    assert.doesNotMatch(page.body, new RegExp(phone.jar.get('gateway_session')?.slice(2, 20) ?? 'x'), 'the page never shows a session id');

    const forged = await laptop.post('/accounts/security/sessions/end', { _csrf: 'wrong', session });
    assert.equal(forged.status, 403);
    const ended = await laptop.post('/accounts/security/sessions/end', { _csrf, session });
    assert.equal(ended.status, 303);
    assert.equal(ended.headers.location, '/accounts/security/sessions/?done=session-ended');
    assert.equal((await phone.get('/documents/')).status, 302, 'the phone is signed out');
    assert.equal((await laptop.get('/documents/')).status, 200, 'this browser is not');
    assert.equal((await bob.get('/documents/')).status, 200, 'nor is anyone else');
  });

  it("a handle of someone else's session signs nobody out", async () => {
    const alice = await signedIn('alice', FIREFOX);
    const bob = await signedIn('bob', FIREFOX);
    const bobsPage = await bob.get('/accounts/security/sessions/');
    const bobsOther = await signedIn('bob', SAFARI);
    const bobsList = await bob.get('/accounts/security/sessions/');
    const handle = fieldsOn(bobsList.body, ['session']).session;
    assert.ok(bobsPage.status === 200 && handle);
    const page = await alice.get('/accounts/security/sessions/');
    const res = await alice.post('/accounts/security/sessions/end', { _csrf: fieldsOn(page.body, ['_csrf'])._csrf, session: handle });
    assert.equal(res.status, 409);
    assert.equal((await bobsOther.get('/documents/')).status, 200);
  });

  it('signs out all other sessions, then everywhere', async () => {
    const a = await signedIn('bob', FIREFOX);
    const b = await signedIn('bob', SAFARI);
    const c = await signedIn('bob', SAFARI);
    const page = await a.get('/accounts/security/sessions/');
    const { _csrf } = fieldsOn(page.body, ['_csrf']);
    const others = await a.post('/accounts/security/sessions/end-others', { _csrf });
    assert.equal(others.headers.location, '/accounts/security/sessions/?done=others-ended');
    assert.deepEqual([(await a.get('/documents/')).status, (await b.get('/documents/')).status, (await c.get('/documents/')).status], [200, 302, 302]);
    const all = await a.post('/accounts/security/sessions/end-all', { _csrf });
    assert.equal(all.headers.location, '/accounts/logout/');
    assert.equal((await a.get('/documents/')).status, 302);
  });

  it('someone who left the allowed groups gets no account page', async () => {
    const b = await signedIn('bob', FIREFOX);
    assert.equal((await b.get('/accounts/security/sessions/')).status, 200);
    await stack.slapd.ldapadd(`dn: cn=paperless-users,ou=groups,dc=example,dc=com\nchangetype: modify\ndelete: member\nmember: ${userDn('bob')}\n`, true);
    const page = await b.get('/accounts/security/sessions/');
    assert.equal(page.status, 303);
    assert.equal(page.headers.location, '/accounts/logout/');
    await stack.slapd.ldapadd(`dn: cn=paperless-users,ou=groups,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: ${userDn('bob')}\n`, true);
  });

  it('sessions list and sessions revoke for the admin', async () => {
    const d = await signedIn('alice', SAFARI);
    const list = await runCliToEnd(['sessions', 'list'], stack.gateway.env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^USER\tADDRESS\tBROWSER\tSIGNED IN \(UTC\)\tLAST SEEN \(UTC\)$/m);
    assert.match(list.stdout, /^alice\t127\.0\.0\.1\tSafari · iOS\t\d{4}-\d\d-\d\d \d\d:\d\d\t/m);
    const onlyBob = await runCliToEnd(['sessions', 'list', 'bob'], stack.gateway.env);
    assert.doesNotMatch(onlyBob.stdout, /^alice/m);
    const revoked = await runCliToEnd(['sessions', 'revoke', 'alice'], stack.gateway.env);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /Signed alice out of \d+ sessions?/);
    assert.equal((await d.get('/documents/')).status, 302);
    const bad = await runCliToEnd(['sessions', 'revoke'], stack.gateway.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /usage: paperless-ldap-gateway sessions list \[USER\] \| sessions revoke USER/);
  });
});

describe('remembered sessions that outlive GATEWAY_SESSION_MAX_LIFETIME can still be found and ended', () => {
  let stack: Stack;
  before(async () => {
    // Every session of a person must be findable for as long as it lives: a remembered one lives
    // longer than the lifetime of a session that is not.
    stack = await startStack({ env: { GATEWAY_SESSION_IDLE_TIMEOUT: '1s', GATEWAY_SESSION_MAX_LIFETIME: '2s', GATEWAY_REMEMBER_ME_DURATION: '1m' } });
  });
  after(async () => stack?.stop());

  async function remembered(username: string, userAgent: string): Promise<Browser> {
    const b = stack.browser();
    const page = await b.get('/accounts/login/', { headers: [['User-Agent', userAgent]] });
    const res = await b.post('/accounts/login/', { username, password: `${username}-pass`, _csrf: fieldsOn(page.body, ['_csrf'])._csrf, next: '', remember: '1' }, { headers: [['User-Agent', userAgent]] });
    assert.equal(res.status, 303);
    return b;
  }

  it('the account page lists them, "sign out the others" and `sessions revoke` end them', async () => {
    const signedInAt = Date.now();
    const laptop = await remembered('carol', FIREFOX);
    const phone = await remembered('carol', SAFARI);
    const tablet = await remembered('carol', SAFARI);
    // Past the lifetime of a session that is not remembered (the index's old lifetime).
    await new Promise((r) => setTimeout(r, Math.max(0, signedInAt + 2500 - Date.now())));
    assert.equal((await tablet.get('/documents/')).status, 200, 'a remembered session outlives the lifetime');
    const page = await laptop.get('/accounts/security/sessions/');
    assert.equal(page.status, 200);
    assert.equal((page.body.match(/name="session" value=/g) ?? []).length, 2, 'both other remembered sessions are listed');

    const ended = await laptop.post('/accounts/security/sessions/end-others', { _csrf: fieldsOn(page.body, ['_csrf'])._csrf });
    assert.equal(ended.headers.location, '/accounts/security/sessions/?done=others-ended');
    assert.equal((await phone.get('/documents/')).status, 302, 'the phone is signed out');
    assert.equal((await tablet.get('/documents/')).status, 302, 'the tablet is signed out');

    const list = await runCliToEnd(['sessions', 'list', 'carol'], stack.gateway.env);
    assert.match(list.stdout, /^carol\t127\.0\.0\.1\tFirefox · Windows\t/m);
    const revoked = await runCliToEnd(['sessions', 'revoke', 'carol'], stack.gateway.env);
    assert.match(revoked.stdout, /Signed carol out of 1 session;/);
    assert.equal((await laptop.get('/documents/')).status, 302, 'a stolen remembered cookie stops working');
  });
});
