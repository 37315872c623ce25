import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browser } from './support/http-client.js';
import { paperlessSessionOf } from './support/jar.js';
import { startStack, type Stack } from './support/stack.js';

describe('logout', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_PAPERLESS_COOKIE_PREFIX: 'pl_' }, sim: { cookiePrefix: 'pl_' } });
  });
  after(async () => stack?.stop());

  it('ends the gateway session, the Paperless session and both cookies, then shows the signed-out page', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    await b.get('/documents/');
    assert.equal(b.jar.get('pl_sessionid'), undefined, "Paperless's session cookie stays with the gateway");
    const paperlessSid = await paperlessSessionOf(stack.redis.url, b);
    const gatewayCookie = b.jar.get('gateway_session');
    assert.ok(paperlessSid, 'Paperless set its prefixed session cookie, and the gateway kept it');
    assert.ok(gatewayCookie);
    assert.ok(stack.sim.sessions.has(paperlessSid));

    const before = stack.sim.requests.length;
    const res = await b.get('/accounts/logout/');
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/accounts/login/?loggedout=1');
    for (const name of ['pl_sessionid', 'pl_csrftoken', 'gateway_session']) {
      assert.ok(res.setCookies.some((c) => c.startsWith(`${name}=;`) && /Expires=Thu, 01 Jan 1970/i.test(c)), `${name} expired`);
    }

    const forwarded = stack.sim.requests.slice(before).find((r) => r.path === '/accounts/logout/');
    assert.ok(forwarded, 'logout was forwarded to Paperless');
    assert.equal(forwarded.cookies.pl_sessionid, paperlessSid);
    assert.equal(forwarded.remoteUser, undefined, 'without an identity header');
    assert.equal(stack.sim.sessions.has(paperlessSid), false, 'Paperless flushed its session');

    const signedOut = await b.get(res.headers.location as string);
    assert.match(signedOut.body, /You have been signed out/);

    // The old cookies, replayed, authenticate nowhere.
    const replay = new Browser(stack.gateway.url);
    replay.jar.set('gateway_session', gatewayCookie);
    replay.jar.set('pl_sessionid', paperlessSid);
    const page = await replay.get('/documents/');
    assert.equal(page.status, 302);
    assert.match(String(page.headers.location), /^\/accounts\/login\//);
    const direct = new Browser(stack.sim.url);
    direct.jar.set('pl_sessionid', paperlessSid);
    assert.equal((await direct.get('/documents/')).status, 302, 'the old sessionid no longer authenticates at Paperless itself');
  });

  it('flushes a Paperless session a browser still holds from before the jar, and never forwards it otherwise', async () => {
    // A browser signed in before the upgrade holds Paperless's cookie itself.
    const legacy = new Browser(stack.sim.url);
    await legacy.get('/', { headers: [['Remote-User', 'bob']] });
    const sid = legacy.jar.get('pl_sessionid');
    assert.ok(sid);
    const b = stack.browser();
    b.jar.set('pl_sessionid', sid);
    const anonymous = await b.get('/documents/');
    assert.equal(anonymous.status, 302, 'the cookie alone signs nobody in');
    await b.login('bob', 'bob-pass');
    const before = stack.sim.requests.length;
    await b.get('/documents/');
    assert.notEqual(stack.sim.requests.slice(before).at(-1)?.cookies.pl_sessionid, sid, 'with a session, only the jar is forwarded');
    const res = await b.get('/accounts/logout/');
    assert.equal(res.status, 303);
    assert.equal(stack.sim.sessions.has(sid), false, 'the old one is flushed at logout too');
  });

  it('logs out cleanly even when Paperless is down', async () => {
    const b = stack.browser();
    await b.login('bob', 'bob-pass');
    await b.get('/');
    const port = stack.sim.port;
    await stack.sim.stop();
    try {
      const res = await b.get('/accounts/logout/');
      assert.equal(res.status, 303);
      assert.equal(b.jar.get('gateway_session'), undefined);
    } finally {
      await stack.sim.start(port);
    }
  });
});
