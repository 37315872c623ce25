import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import WebSocket from 'ws';
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { SessionRecords } from '../src/session/session-records.js';
import { SESSION_CACHE_MS, SessionService } from '../src/session/sessions.js';
import { UserSessionIndex } from '../src/session/user-index.js';
import { GatewayProcess, SESSION_SECRET, freePort } from './support/gateway.js';
import { redisKeys } from '../src/redis/keys.js';
import { Browser } from './support/http-client.js';
import { startStack, type Stack } from './support/stack.js';
import { openSocket } from './support/status-socket.js';
import { pollUntil } from './support/poll.js';
import { unsign } from 'cookie-signature';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens /ws/status/ through the gateway with a browser's cookies. */
async function openStatusSocket(stack: Stack, cookie: string): Promise<WebSocket> {
  const { ws, status } = await openSocket(stack.gateway.url.replace('http', 'ws') + '/ws/status/', { Cookie: cookie });
  if (!ws) throw new Error(`websocket refused (${status})`);
  return ws;
}

describe("session records: the gateway reads and writes connect-redis's own format", () => {
  let stack: Stack;
  let redis: Redis;
  before(async () => {
    stack = await startStack();
    redis = new Redis(stack.redis.url);
  });
  after(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  // If connect-redis changes how it stores a session, these fail before a user's session does.
  it('what the library writes, the gateway reads; what the gateway rewrites, the library reads', async () => {
    const keys = redisKeys('records-test:');
    const library = new RedisStore({ client: redis, prefix: keys.sessionPrefix, ttl: 60 });
    const records = new SessionRecords(redis, keys);
    const data = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000), httpOnly: true, path: '/' }, createdAt: 1, user: { username: 'alice' } } as unknown as SessionData;
    await new Promise<void>((resolve, reject) => library.set('sid-1', data, (err) => (err ? reject(err) : resolve())));
    const read = (await records.read('sid-1')) as unknown as { createdAt: number; user: { username: string } };
    assert.equal(read.createdAt, 1);
    assert.equal(read.user.username, 'alice');

    const changed = { ...data, createdAt: 2 } as unknown as SessionData;
    assert.equal(await records.replaceIfPresent('sid-1', changed, 30_000), true);
    const back = await new Promise<SessionData | null | undefined>((resolve, reject) => library.get('sid-1', (err, value) => (err ? reject(err) : resolve(value))));
    assert.equal((back as unknown as { createdAt: number }).createdAt, 2);
    const ttl = await redis.pttl(keys.session('sid-1'));
    assert.ok(ttl > 25_000 && ttl <= 30_000, `ttl ${ttl}`);

    await records.extend('sid-1', 50_000);
    assert.ok((await redis.pttl(keys.session('sid-1'))) > 45_000);
    assert.deepEqual([...(await records.existing(['sid-1', 'sid-2']))], ['sid-1']);

    // A record deleted in the meantime (a logout) stays deleted.
    await new Promise<void>((resolve, reject) => library.destroy('sid-1', (err) => (err ? reject(err) : resolve())));
    assert.equal(await records.replaceIfPresent('sid-1', changed, 30_000), false);
    assert.equal(await redis.exists(keys.session('sid-1')), 0);
  });
});

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
      redisKeys('gateway:'),
      pino({ level: 'silent' }),
    );
    service.start();
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

  it('a sign-in while every session of the person is being ended stays in the index, findable and endable', async () => {
    const keys = redisKeys('gateway:');
    const key = keys.userSessions('erin');
    // A client of the same Redis that lets a sign-in land just after the index was listed.
    const racing = new Proxy(redis, {
      get(target, name, receiver) {
        if (name !== 'smembers') return Reflect.get(target, name, receiver) as unknown;
        return async (k: string) => {
          const listed = await target.smembers(k);
          await new UserSessionIndex(target, keys).add('erin', 'signed-in-meanwhile', 60_000);
          return listed;
        };
      },
    });
    const index = new UserSessionIndex(racing, keys);
    await index.add('erin', 'older', 60_000);
    assert.deepEqual(await index.revokeAll('erin'), ['older']);
    assert.deepEqual(await redis.smembers(key), ['signed-in-meanwhile'], 'the session that came meanwhile is still listed');
  });

  it('requests that find a session stale at once share one read of it', async () => {
    const carol = stack.browser();
    await carol.login('bob', 'bob-pass');
    const reads = async () => Number(/cmdstat_get:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    const before = await reads();
    // This replica has never seen the session: fifty requests arrive before the first read is back.
    const found = await Promise.all(Array.from({ length: 50 }, () => service.lookup(carol.cookieHeader())));
    const during = (await reads()) - before;
    assert.ok(found.every((session) => session?.user.username === 'bob'), 'every request gets the session');
    // One read is two GETs (the record and Paperless's session); fifty separate reads would be a hundred.
    assert.ok(during <= 4, `${during} GETs for fifty lookups of one session`);
  });
});

describe('sessions: idle timeout and absolute lifetime', () => {
  let stack: Stack;
  /** The proxying thread's clock: the system's, plus what a test moves it by. */
  const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };
  before(async () => {
    stack = await startStack({ env: { GATEWAY_SESSION_IDLE_TIMEOUT: '2s', GATEWAY_SESSION_MAX_LIFETIME: '5s' }, clock });
  });
  after(async () => stack?.stop());

  it('an idle session ends after the idle timeout', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    assert.equal((await b.get('/documents/')).status, 200);
    // The idle timeout is the record's TTL in Redis: it lives 2 s at most, then runs out now instead of in 2 s.
    const redis = new Redis(stack.redis.url);
    try {
      const record = redisKeys('gateway:').session(unsign(decodeURIComponent(b.jar.get('gateway_session') ?? '').slice(2), SESSION_SECRET) || '');
      const ttl = await redis.pttl(record);
      assert.ok(ttl > 0 && ttl <= 2000, `the record lives the idle timeout (${ttl} ms)`);
      await redis.pexpire(record, 1);
      await pollUntil(async () => (await redis.exists(record)) === 0, 'the record did not expire');
    } finally {
      redis.disconnect();
    }
    // The first request after the record expired may still be answered from the one-second session cache.
    let status = 0;
    await pollUntil(async () => (status = (await b.get('/documents/')).status) !== 200, 'still signed in after the record expired', (SESSION_CACHE_MS + 1000) / 50, 50);
    assert.equal(status, 302);
  });

  it("an idle session's websocket is closed when the session expires", async () => {
    const b = stack.browser();
    await b.login('bob', 'bob-pass');
    await b.get('/');
    const ws = await openStatusSocket(stack, b.cookieHeader());
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 6000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    assert.equal(closed, true);
  });

  it('an active session still ends at the absolute lifetime', async () => {
    const b = stack.browser();
    // The session starts between these two readings: the gateway's clock is set from the one that keeps each claim true.
    const before = Date.now();
    await b.login('alice', 'alice-pass');
    const after = Date.now();
    try {
      // Busy every 700 ms of the gateway's clock (well inside the idle timeout) up to the lifetime: use never extends it.
      for (let at = 0; at <= 4900; at += 700) {
        clock.offsetMs = at - (Date.now() - before);
        assert.equal((await b.get('/documents/')).status, 200, `at most ${at} ms after sign-in`);
      }
      clock.offsetMs = 5001 - (Date.now() - after);
      assert.equal((await b.get('/documents/')).status, 302, 'past the lifetime');
    } finally {
      clock.offsetMs = 0;
    }
  });
});

describe('sessions: the in-process cache never outlives a revocation', () => {
  let stack: Stack;
  let second: GatewayProcess;
  let redis: Redis;
  before(async () => {
    stack = await startStack();
    // A second replica on the same Redis, as behind a load balancer.
    second = new GatewayProcess({ ...stack.gateway.env, GATEWAY_PORT: String(await freePort()) });
    await second.start();
    redis = new Redis(stack.redis.url);
  });
  after(async () => {
    redis?.disconnect();
    await second?.stop();
    await stack?.stop();
  });

  /** Milliseconds until `browser` is sent to the login page, polling every 20 ms (gives up after 5 s). */
  async function untilSignedOut(browser: Browser): Promise<number> {
    const started = Date.now();
    while (Date.now() - started < 5000) {
      if ((await browser.get('/documents/')).status === 302) return Date.now() - started;
      await sleep(20);
    }
    return Infinity;
  }

  it('a logout on one replica ends the session on another within 1 s, though that one had it cached', async () => {
    const a = stack.browser();
    await a.login('alice', 'alice-pass');
    const b = new Browser(second.url);
    for (const [k, v] of a.jar) b.jar.set(k, v);
    assert.equal((await b.get('/documents/')).status, 200);
    assert.equal((await b.get('/documents/')).status, 200);
    await a.get('/accounts/logout/');
    assert.ok((await untilSignedOut(b)) < 1000);
  });

  it('a session deleted from Redis without any announcement stops working within 1 s', async () => {
    const a = stack.browser();
    await a.login('bob', 'bob-pass');
    assert.equal((await a.get('/documents/')).status, 200);
    const sid = /^s:([^.]+)\./.exec(decodeURIComponent(a.jar.get('gateway_session') ?? ''))?.[1];
    assert.ok(sid);
    assert.equal(await redis.del(`gateway:sess:${sid}`), 1);
    assert.ok((await untilSignedOut(a)) <= 1100);
  });
});
