import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from './support/stack.js';

describe('login form against a real slapd and redis', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_LDAP_ALLOWED_GROUPS: 'paperless-users' } });
  });
  after(async () => stack?.stop());

  it('shows the login form with a CSRF field, a next field and autocomplete hints', async () => {
    const page = await stack.browser().get('/accounts/login/?next=%2Fdocuments%2F');
    assert.equal(page.status, 200);
    assert.match(page.body, /name="_csrf" value="[^"]{20,}"/);
    assert.match(page.body, /name="next" value="\/documents\/"/);
    assert.match(page.body, /autocomplete="username"/);
    assert.match(page.body, /autocomplete="current-password"/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
  });

  it('signs in with the directory password, regenerates the session and returns to next', async () => {
    const b = stack.browser();
    await b.get('/accounts/login/');
    const res = await b.login('alice', 'alice-pass', '/documents/?sort=created');
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/documents/?sort=created');
    const cookie = res.setCookies.find((c) => c.startsWith('gateway_session='));
    assert.ok(cookie, 'a session cookie is set');
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    const page = await b.get('/documents/');
    assert.equal(page.status, 200);
    assert.match(page.body, /id="user">alice</);
  });

  it('issues a new session id at login, and the old one stops working (no fixation)', async () => {
    const b = stack.browser();
    await b.login('bob', 'bob-pass');
    const first = b.jar.get('gateway_session');
    assert.ok(first);
    await b.login('alice', 'alice-pass');
    const second = b.jar.get('gateway_session');
    assert.ok(second);
    assert.notEqual(second, first);
    const old = stack.browser();
    old.jar.set('gateway_session', first);
    const res = await old.get('/documents/');
    assert.equal(res.status, 302);
  });

  it('sends the username lower-cased whatever case was typed', async () => {
    const b = stack.browser();
    assert.equal((await b.login('ALICE', 'alice-pass')).status, 303);
    const page = await b.get('/');
    assert.match(page.body, /id="user">alice</);
    assert.equal(stack.sim.user('ALICE'), undefined, 'no second, upper-case user in Paperless');
  });

  it('gives one message for a wrong password and for an unknown user', async () => {
    const wrong = await stack.browser().login('alice', 'nope');
    const unknown = await stack.browser().login('nobody', 'nope');
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    const msg = (r: { body: string }) => /role="alert">([^<]+)</.exec(r.body)?.[1];
    assert.equal(msg(wrong), 'Wrong username or password.');
    assert.equal(msg(unknown), msg(wrong));
    assert.match(wrong.body, /value="alice"/, 'the username stays filled in');
  });

  it('refuses an empty password before any bind', async () => {
    const res = await stack.browser().login('alice', '');
    assert.equal(res.status, 401);
    assert.match(res.body, /Wrong username or password/);
  });

  it('refuses someone outside the allowed groups', async () => {
    const res = await stack.browser().login('carol', 'carol-pass');
    assert.equal(res.status, 403);
    assert.match(res.body, /not allowed to use Paperless/);
    assert.equal(res.setCookies.some((c) => c.startsWith('gateway_session=')), false);
  });

  it('refuses a post without the form token', async () => {
    const b = stack.browser();
    const res = await b.post('/accounts/login/', { username: 'alice', password: 'alice-pass' });
    assert.equal(res.status, 403);
    assert.match(res.body, /form expired/);
  });

  it('refuses a post from another origin', async () => {
    const b = stack.browser();
    const page = await b.get('/accounts/login/');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const res = await b.post('/accounts/login/', { username: 'alice', password: 'alice-pass', _csrf: csrf }, { headers: [['Origin', 'https://evil.example']] });
    assert.equal(res.status, 403);
  });

  it('ignores an unsafe next and lands on /', async () => {
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example', '/%2F%2Fevil.example', 'javascript:alert(1)']) {
      const res = await stack.browser().login('bob', 'bob-pass', next);
      assert.equal(res.status, 303, next);
      assert.equal(res.headers.location, '/', `next=${next}`);
    }
  });

  it('answers a missing field with a 400 and a reason', async () => {
    const b = stack.browser();
    const res = await b.post('/accounts/login/', { username: 'alice' });
    assert.equal(res.status, 400);
    assert.match(res.body, /Enter your username and password/);
  });

  it('answers an oversized login body with 413', async () => {
    const b = stack.browser();
    const res = await b.post('/accounts/login/', { username: 'alice', password: 'x'.repeat(20_000) });
    assert.equal(res.status, 413);
  });

  it('never logs the password', () => {
    assert.ok(stack.gateway.logs.some((l) => l.includes('login.success')));
    assert.equal(stack.gateway.logs.some((l) => l.includes('alice-pass') || l.includes('bob-pass')), false);
  });
});
