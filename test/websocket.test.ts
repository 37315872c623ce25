import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { Browser } from './support/http-client.js';
import { paperlessSessionOf } from './support/jar.js';
import { pollUntil } from './support/poll.js';
import { startStack, startStackOn, type Stack, type UpstreamStack } from './support/stack.js';
import { closedWithin, nextMessage, openSocket } from './support/status-socket.js';

const open = openSocket;
const closed = closedWithin;

describe('websockets through the gateway', () => {
  let stack: Stack;
  let alice: Browser;
  let wsUrl: string;

  before(async () => {
    stack = await startStack();
    wsUrl = stack.gateway.url.replace('http', 'ws') + '/ws/status/';
    alice = stack.browser();
    await alice.login('alice', 'alice-pass');
    await alice.get('/'); // Paperless sets its sessionid: /ws/status/ authenticates only by that cookie
  });
  after(async () => stack?.stop());

  it('accepts an upgrade with a session, carries the identity header, and relays status messages', async () => {
    const before = stack.sim.requests.length;
    const { ws } = await open(wsUrl, { Cookie: alice.cookieHeader(), 'Remote-User': 'admin', remote_user: 'root' });
    assert.ok(ws, 'connected');
    const seen = stack.sim.requests.slice(before).find((r) => r.path === '/ws/status/');
    assert.equal(seen?.remoteUser, 'alice');
    assert.equal(seen?.user, 'alice');
    assert.equal(seen?.cookies.gateway_session, undefined);
    const message = nextMessage(ws);
    const user = stack.sim.user('alice');
    assert.ok(user);
    stack.sim.status.statusUpdate(user, { status: 'WORKING', current_progress: 50 });
    assert.deepEqual(((await message) as { data: { status: string } }).data.status, 'WORKING');
    ws.close();
  });

  it('refuses an upgrade without a session with 401, before Paperless sees it', async () => {
    const before = stack.sim.requests.length;
    const anon = await open(wsUrl, { 'Remote-User': 'alice' });
    assert.equal(anon.status, 401);
    const forged = await open(wsUrl, { Cookie: 'gateway_session=s%3Aforged.sig' });
    assert.equal(forged.status, 401);
    assert.equal(stack.sim.requests.length, before);
  });

  it('refuses an upgrade from another origin (cross-site websocket hijacking), accepts its own', async () => {
    const before = stack.sim.requests.length;
    const foreign = await open(wsUrl, { Cookie: alice.cookieHeader(), Origin: 'https://evil.example' });
    assert.equal(foreign.status, 403);
    assert.equal(stack.sim.requests.length, before);
    const own = await open(wsUrl, { Cookie: alice.cookieHeader(), Origin: stack.gateway.url });
    assert.ok(own.ws);
    own.ws.close();
  });

  it("closes a session's websockets when it logs out", async () => {
    const b = stack.browser();
    await b.login('bob', 'bob-pass');
    await b.get('/');
    const { ws } = await open(wsUrl, { Cookie: b.cookieHeader() });
    assert.ok(ws);
    const other = await open(wsUrl, { Cookie: alice.cookieHeader() });
    assert.ok(other.ws);
    const code = new Promise<number>((resolve) => ws.once('close', (c: number) => resolve(c)));
    await b.get('/accounts/logout/');
    assert.equal(await closed(ws), true, "bob's socket closed");
    assert.equal(await code, 1008, 'with a close code saying the session ended, not a bare TCP close');
    assert.equal(other.ws.readyState, WebSocket.OPEN, "alice's socket stays open");
    other.ws.close();
  });

  it('runs the same request path as HTTP: Referer counts without Origin, spoofed headers are logged, refusals say why', async () => {
    const before = stack.sim.requests.length;
    const refererOnly = await open(wsUrl, { Cookie: alice.cookieHeader(), Referer: 'https://evil.example/page' });
    assert.equal(refererOnly.status, 403);
    assert.match(refererOnly.body ?? '', /Origin checking failed - https:\/\/evil\.example does not match/);
    const nullOrigin = await open(wsUrl, { Cookie: alice.cookieHeader(), Origin: 'null', Referer: 'https://evil.example/' });
    assert.equal(nullOrigin.status, 403, 'a null Origin falls back to Referer');
    const anonymous = await open(wsUrl, {});
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.body ?? '', /Authentication credentials were not provided/);
    assert.equal(stack.sim.requests.length, before, 'Paperless saw none of them');

    const logged = stack.gateway.logs.length;
    const own = await open(wsUrl, { Cookie: alice.cookieHeader(), Referer: `${stack.gateway.url}/documents/`, 'X-Remote-User': 'x', 'Remote_User': 'admin' });
    assert.ok(own.ws, 'a same-site Referer without Origin is accepted');
    own.ws.close();
    assert.ok(stack.gateway.logs.slice(logged).some((l) => l.includes('client-sent identity header removed') && l.includes('/ws/status/')));
  });

  it("keeps a Set-Cookie for Paperless's session from the handshake's answer in the jar, never in the browser", async () => {
    const b = stack.browser();
    await b.login('carol', 'carol-pass');
    await b.get('/');
    const original = await paperlessSessionOf(stack.redis.url, b);
    assert.ok(original);
    stack.sim.faults.upgradeSetCookies = ['sessionid=rotated-on-upgrade; Path=/; HttpOnly', 'sessionid_hint=1; Path=/'];
    try {
      const { ws, headers } = await open(wsUrl, { Cookie: b.cookieHeader() });
      assert.ok(ws);
      const cookies = ([] as string[]).concat(headers?.['set-cookie'] ?? []);
      assert.deepEqual(cookies, ['sessionid_hint=1; Path=/'], 'other cookies pass, the session cookie does not');
      ws.close();
    } finally {
      stack.sim.faults.upgradeSetCookies = [];
    }
    assert.equal(await paperlessSessionOf(stack.redis.url, b), 'rotated-on-upgrade');
  });

  it("passes Paperless's refusal of a handshake to the browser as it came, chunked body and all, its session cookie kept in the jar", async () => {
    const b = stack.browser();
    await b.login('carol', 'carol-pass');
    await b.get('/');
    stack.sim.faults.upgradeAnswer =
      'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n' +
      'Set-Cookie: sessionid=from-refusal; Path=/\r\nSet-Cookie: sessionid_hint=1; Path=/\r\n\r\n5\r\nbusy!\r\n6\r\n again\r\n0\r\n\r\n';
    try {
      const res = await open(wsUrl, { Cookie: b.cookieHeader() });
      assert.equal(res.status, 503);
      assert.equal(res.body, 'busy! again');
      assert.equal(res.headers?.['content-type'], 'text/plain');
      assert.deepEqual(res.headers?.['set-cookie'], ['sessionid_hint=1; Path=/']);
    } finally {
      stack.sim.faults.upgradeAnswer = undefined;
    }
    assert.equal(await paperlessSessionOf(stack.redis.url, b), 'from-refusal');
    const { ws } = await open(wsUrl, { Cookie: alice.cookieHeader() });
    assert.ok(ws, 'the next handshake is carried as before');
    ws.close();
  });

  it("a browser that leaves while Paperless's refusal is still coming frees Paperless's socket", async () => {
    const body = 'x'.repeat(8 * 1024 * 1024); // more than the sockets between hold: the gateway must wait to send it
    stack.sim.faults.upgradeAnswer = `HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    try {
      const { port } = new URL(stack.gateway.url);
      const browser = net.connect(Number(port), '127.0.0.1');
      browser.write(
        `GET /ws/status/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: ${alice.cookieHeader()}\r\n\r\n`,
      );
      const first = await new Promise<string>((resolve, reject) => {
        browser.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1')));
        browser.once('error', reject);
      });
      assert.match(first, /^HTTP\/1\.1 503 /);
      browser.pause(); // reads nothing more
      await pollUntil(async () => stack.sim.status.forcedAnswersOpen === 1, 'Paperless is not sending its refusal', 50, 50);
      browser.destroy();
      await pollUntil(async () => stack.sim.status.forcedAnswersOpen === 0, "Paperless's socket stayed open after the browser left", 50, 50);
    } finally {
      stack.sim.faults.upgradeAnswer = undefined;
    }
  });

  it("a browser that leaves mid-handshake frees Paperless's socket at once, and is not logged as Paperless being unavailable", async () => {
    const b = stack.browser();
    await b.login('carol', 'carol-pass');
    await b.get('/');
    // Paperless holds the handshake without an answer (granian 2.5.4 does so with every one Channels denies).
    stack.sim.faults.holdHandshakes = true;
    try {
      const logged = stack.gateway.logs.length;
      const pending = new WebSocket(wsUrl, { headers: { Cookie: b.cookieHeader() } });
      pending.on('error', () => undefined);
      await pollUntil(async () => stack.sim.status.pendingHandshakes === 1, 'the handshake never reached Paperless', 50, 50);
      pending.terminate();
      await pollUntil(async () => stack.sim.status.pendingHandshakes === 0, "Paperless's socket stayed open after the browser left", 20, 50);
      await pollUntil(async () => stack.gateway.logs.slice(logged).some((l) => l.includes('"client.left"')), 'no client.left line', 20, 50);
      assert.ok(!stack.gateway.logs.slice(logged).some((l) => l.includes('upstream unavailable')));
    } finally {
      stack.sim.faults.holdHandshakes = false;
    }
  });

  it('answers 502 when Paperless is down', async () => {
    const port = stack.sim.port;
    await stack.sim.stop();
    try {
      const res = await open(wsUrl, { Cookie: alice.cookieHeader() });
      assert.equal(res.status, 502);
    } finally {
      await stack.sim.start(port);
    }
  });
});

/**
 * Paperless authenticates /ws/status/ by its own `sessionid` alone. A handshake the gateway
 * forwards without one Paperless knows is denied, and Paperless 2.20.15's server (granian 2.5.4)
 * never answers that denial (3.0.5's answers 403): the gateway gets Paperless a session first.
 */
for (const line of [2, 3] as const) {
  describe(`websockets and Paperless's session, on the simulator as ${line === 2 ? '2.20.15 (a denial is never answered)' : '3.0.5 (a denial is answered 403)'}`, () => {
    let stack: Stack;
    let wsUrl: string;
    before(async () => {
      stack = await startStack({ sim: { line }, env: { GATEWAY_WEBSOCKET_HANDSHAKE_TIMEOUT: '1s' } });
      wsUrl = stack.gateway.url.replace('http', 'ws') + '/ws/status/';
    });
    after(async () => stack?.stop());

    it('opens a websocket that is the very first request after sign-in, and relays its messages', async () => {
      const b = stack.browser();
      await b.login('alice', 'alice-pass');
      assert.equal(await paperlessSessionOf(stack.redis.url, b), undefined, 'no Paperless session yet');
      const denials = stack.sim.status.denials;
      const { ws, status, timedOut } = await open(wsUrl, { Cookie: b.cookieHeader() });
      assert.ok(ws, `the handshake was answered ${status ?? (timedOut ? 'never' : 'with an error')}`);
      assert.equal(stack.sim.status.denials, denials, 'Paperless never had to deny it');
      const jar = await paperlessSessionOf(stack.redis.url, b);
      assert.ok(jar, "the new Paperless session is in the gateway's jar");
      assert.equal(stack.sim.store.sessionUser(jar)?.username, 'alice');
      assert.ok(!b.jar.has('sessionid'), 'the browser never gets it');
      const message = nextMessage(ws);
      stack.sim.status.statusUpdate(stack.sim.user('alice') as NonNullable<ReturnType<typeof stack.sim.user>>, { status: 'STARTED' });
      assert.equal(((await message) as { data: { status: string } }).data.status, 'STARTED');
      ws.close();
      // An ordinary request afterwards rides on that same Paperless session.
      await b.get('/');
      assert.equal(await paperlessSessionOf(stack.redis.url, b), jar);
    });

    it('replaces a Paperless session Paperless no longer knows (expired, logged out, database reset) and tries the handshake once more', async () => {
      const b = stack.browser();
      await b.login('bob', 'bob-pass');
      await b.get('/');
      const stale = await paperlessSessionOf(stack.redis.url, b);
      assert.ok(stale);
      stack.sim.store.sessions.delete(stale);
      const denials = stack.sim.status.denials;
      const { ws, status, timedOut } = await open(wsUrl, { Cookie: b.cookieHeader() });
      assert.ok(ws, `the handshake was answered ${status ?? (timedOut ? 'never' : 'with an error')}`);
      assert.equal(stack.sim.status.denials, denials + 1, 'Paperless denied the first try only');
      const fresh = await paperlessSessionOf(stack.redis.url, b);
      assert.ok(fresh && fresh !== stale);
      assert.equal(stack.sim.store.sessionUser(fresh)?.username, 'bob');
      assert.equal(stack.sim.status.pendingHandshakes, 0, 'no socket of Paperless is left waiting');
      ws.close();
    });

    it('a handshake Paperless never answers gets 504 after the handshake timeout, and frees Paperless\'s socket', async () => {
      const b = stack.browser();
      await b.login('carol', 'carol-pass');
      await b.get('/');
      stack.sim.faults.holdHandshakes = true;
      try {
        const res = await open(wsUrl, { Cookie: b.cookieHeader() }, 30_000);
        assert.equal(res.status, 504, `answered ${res.status ?? (res.timedOut ? 'never' : 'with an error')}`);
        assert.match(res.body ?? '', /did not answer the live-update connection in time/);
        await pollUntil(async () => stack.sim.status.pendingHandshakes === 0, "Paperless's socket stayed open", 50, 50);
      } finally {
        stack.sim.faults.holdHandshakes = false;
      }
      const { ws } = await open(wsUrl, { Cookie: b.cookieHeader() });
      assert.ok(ws, 'the next handshake opens');
      ws.close();
    });
  });
}

describe('websockets and Paperless\'s session, on the Django upstream (granian 2.5.4)', () => {
  let stack: UpstreamStack;
  let wsUrl: string;
  before(async () => {
    stack = await startStackOn('django', { env: { GATEWAY_WEBSOCKET_HANDSHAKE_TIMEOUT: '2s' } });
    wsUrl = stack.gateway.url.replace('http', 'ws') + '/ws/status/';
  });
  after(async () => stack?.stop());

  it('granian never answers a handshake Channels denies (what the gateway must not wait 120 s for)', async () => {
    const direct = await open(`${stack.upstream.url.replace('http', 'ws')}/ws/status/`, {}, 3000);
    assert.equal(direct.timedOut, true, `granian answered ${direct.status}`);
  });

  it('opens a websocket that is the very first request after sign-in, and relays its messages', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    assert.equal(await paperlessSessionOf(stack.redis.url, b), undefined, 'no Paperless session yet');
    const { ws, status, timedOut } = await open(wsUrl, { Cookie: b.cookieHeader() });
    assert.ok(ws, `the handshake was answered ${status ?? (timedOut ? 'never' : 'with an error')}`);
    const jar = await paperlessSessionOf(stack.redis.url, b);
    assert.ok(jar);
    assert.equal(await stack.upstream.sessionUser(jar), 'alice');
    const message = nextMessage(ws);
    await stack.upstream.sendStatus('alice', 'WORKING');
    assert.equal(((await message) as { data: { status: string } }).data.status, 'WORKING');
    ws.close();
  });

  it('replaces a Paperless session that Paperless ended, and tries the handshake once more', async () => {
    const b = stack.browser();
    await b.login('bob', 'bob-pass');
    await b.get('/');
    const stale = await paperlessSessionOf(stack.redis.url, b);
    assert.ok(stale);
    // Paperless's own logout, straight to Paperless: it flushes that session.
    await fetch(`${stack.upstream.url}/accounts/logout/`, { headers: { Cookie: `sessionid=${stale}` }, redirect: 'manual' });
    assert.equal(await stack.upstream.sessionUser(stale), undefined);
    const { ws, status, timedOut } = await open(wsUrl, { Cookie: b.cookieHeader() }, 20_000);
    assert.ok(ws, `the handshake was answered ${status ?? (timedOut ? 'never' : 'with an error')}`);
    const fresh = await paperlessSessionOf(stack.redis.url, b);
    assert.ok(fresh && fresh !== stale);
    assert.equal(await stack.upstream.sessionUser(fresh), 'bob');
    ws.close();
  });
});
