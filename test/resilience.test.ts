import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from './support/http-client.js';
import { SESSION_CACHE_MS } from '../src/session/sessions.js';
import { startStack, type Stack } from './support/stack.js';

/** Bounds a request so a hang fails the test instead of stalling the suite (a correctness check, not a speed target). */
async function withinSeconds<T>(seconds: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${seconds}s`)), seconds * 1000)));
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe('dependencies failing and coming back', () => {
  let stack: Stack;
  let alice: Browser;
  before(async () => {
    stack = await startStack({ redisPersist: true, env: { GATEWAY_UPSTREAM_TIMEOUT: '1s' } });
    alice = stack.browser();
    await alice.login('alice', 'alice-pass');
  });
  after(async () => stack?.stop());

  it('Redis killed: 503 pages that say what Redis was needed for, never a logout; back without a restart', async () => {
    assert.equal((await alice.get('/documents/')).status, 200);
    await stack.redis.stop();
    try {
      // A session read in the last second is served from the gateway's cache; after that, Redis must answer.
      await new Promise((r) => setTimeout(r, SESSION_CACHE_MS + 100));
      const page = await withinSeconds(5, alice.get('/documents/'));
      assert.equal(page.status, 503);
      assert.match(page.body, /session store \(Redis\) is unavailable/);
      assert.equal(alice.jar.has('gateway_session'), true, 'the cookie was not cleared');
      const api = await withinSeconds(5, alice.get('/api/documents/'));
      assert.equal(api.status, 503);
      assert.match(JSON.parse(api.body).detail, /Redis/);
      const login = await withinSeconds(5, stack.browser().login('bob', 'bob-pass'));
      assert.equal(login.status, 503);
      // A sign-in first counts its attempt: the page says that is what Redis was needed for.
      assert.match(login.body, /Sign-in attempts cannot be counted because Redis is unavailable/);
      assert.equal(await withinSeconds(5, stack.browser().get('/_gateway/health')).then((r) => r.status), 200);
    } finally {
      await stack.redis.start();
    }
    // ioredis reconnects with a capped backoff; poll until the same session works again.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await alice.get('/documents/')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 200, 'the same session works again after Redis came back');
  });

  it('LDAP down: the form says the directory is unavailable; back when it is', async () => {
    await stack.slapd.stop();
    try {
      const res = await withinSeconds(10, stack.browser().login('alice', 'alice-pass'));
      assert.equal(res.status, 503);
      assert.match(res.body, /directory \(LDAP\) is unavailable/);
      assert.equal((await alice.get('/documents/')).status, 200, 'existing sessions keep working');
    } finally {
      await stack.slapd.start();
    }
    assert.equal((await stack.browser().login('alice', 'alice-pass')).status, 303);
  });

  it('Paperless down: a 502 page (HTML for pages, JSON for the API)', async () => {
    const port = stack.sim.port;
    await stack.sim.stop();
    try {
      const page = await alice.get('/documents/');
      assert.equal(page.status, 502);
      assert.match(page.body, /Paperless is unreachable/);
      const api = await alice.get('/api/documents/');
      assert.equal(api.status, 502);
      assert.match(JSON.parse(api.body).detail, /Paperless is unreachable/);
    } finally {
      await stack.sim.start(port);
    }
    assert.equal((await alice.get('/documents/')).status, 200);
  });

  it('Paperless too slow: 502 after GATEWAY_UPSTREAM_TIMEOUT', async () => {
    stack.sim.faults.delayMs = 3000;
    try {
      const page = await withinSeconds(10, alice.get('/documents/'));
      assert.equal(page.status, 502);
      assert.match(page.body, /Paperless is unreachable/);
    } finally {
      stack.sim.faults.delayMs = 0;
    }
  });
});
