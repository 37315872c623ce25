import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import WebSocket from 'ws';
import { SessionService } from '../src/session/sessions.js';
import { SESSION_SECRET } from './support/gateway.js';
import { startStack, type Stack } from './support/stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens /ws/status/ through the gateway with a browser's cookies and waits for Paperless's hello. */
async function openStatusSocket(stack: Stack, cookie: string): Promise<WebSocket> {
  const ws = new WebSocket(stack.gateway.url.replace('http', 'ws') + '/ws/status/', { headers: { Cookie: cookie } });
  await new Promise((resolve, reject) => {
    ws.once('message', resolve);
    ws.once('error', reject);
  });
  return ws;
}

describe('sessions: per-user index and revocation across replicas', () => {
  let stack: Stack;
  let redis: Redis;
  let subscriber: Redis;
  let service: SessionService;

  before(async () => {
    stack = await startStack();
    redis = new Redis(stack.redis.url);
    subscriber = new Redis(stack.redis.url);
    // A second "replica": the same service class on the same Redis, in this process.
    service = new SessionService(
      { secret: SESSION_SECRET, cookieName: 'gateway_session', idleTimeoutMs: 3_600_000, maxLifetimeMs: 43_200_000, secureCookie: false },
      redis,
      subscriber,
      'gateway:',
      pino({ level: 'silent' }),
    );
  });
  after(async () => {
    redis?.disconnect();
    subscriber?.disconnect();
    await stack?.stop();
  });

  it('indexes every session of a user, and logout removes only its own', async () => {
    const one = stack.browser();
    const two = stack.browser();
    await one.login('alice', 'alice-pass');
    await two.login('Alice', 'alice-pass');
    const sidOf = (b: typeof one) => service.sidFromCookieHeader(b.cookieHeader());
    const members = await redis.smembers('gateway:user-sessions:alice');
    assert.deepEqual(members.sort(), [sidOf(one), sidOf(two)].sort());
    await one.get('/accounts/logout/');
    assert.deepEqual(await redis.smembers('gateway:user-sessions:alice'), [sidOf(two)]);
  });

  it('revoking a user ends all their sessions and closes their websockets on the other replica', async () => {
    const a = stack.browser();
    const b = stack.browser();
    const bob = stack.browser();
    await a.login('alice', 'alice-pass');
    await b.login('alice', 'alice-pass');
    await bob.login('bob', 'bob-pass');
    await a.get('/');
    const ws = await openStatusSocket(stack, a.cookieHeader());
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));

    assert.ok((await service.revokeUser('alice')) >= 2);
    await closed;
    assert.equal((await a.get('/documents/')).status, 302);
    assert.equal((await b.get('/documents/')).status, 302);
    assert.equal((await bob.get('/documents/')).status, 200, 'other users keep their sessions');
  });
});

describe('sessions: idle timeout and absolute lifetime', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_SESSION_IDLE_TIMEOUT: '1s', GATEWAY_SESSION_MAX_LIFETIME: '3s' } });
  });
  after(async () => stack?.stop());

  it('an idle session ends after the idle timeout', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    assert.equal((await b.get('/documents/')).status, 200);
    await sleep(1600);
    assert.equal((await b.get('/documents/')).status, 302);
  });

  it("an idle session's websocket is closed when the session expires", async () => {
    const b = stack.browser();
    await b.login('bob', 'bob-pass');
    await b.get('/');
    const ws = await openStatusSocket(stack, b.cookieHeader());
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 4000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    assert.equal(closed, true);
  });

  it('an active session still ends at the absolute lifetime', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    const started = Date.now();
    // Keep it busy (well inside the idle timeout) until past the lifetime.
    while (Date.now() - started < 2600) {
      assert.equal((await b.get('/documents/')).status, 200);
      await sleep(400);
    }
    await sleep(600);
    assert.equal((await b.get('/documents/')).status, 302);
  });
});
