/**
 * The sign-in level (src/session/sign-in-state.ts) and the one session store both sides read: the
 * transitions as a table, then SessionService in this process on a real redis-server, its clock
 * moved by the test (a half-done sign-in expires without waiting ten minutes), and records of the
 * format before the level was stored, read by this version and by the library an older replica runs.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import session, { type SessionData } from 'express-session';
import { RedisStore } from 'connect-redis';
import { sign } from 'cookie-signature';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Server } from 'node:http';
import type { Clock } from '../src/clock.js';
import type { DirectoryUser } from '../src/directory/directory.js';
import { redisKeys } from '../src/redis/keys.js';
import type { PendingSignIn } from '../src/session/session-data.js';
import { SessionService } from '../src/session/sessions.js';
import { CLOCK_SKEW_MS, PENDING_MS, passwordProven, signedIn, stateOf } from '../src/session/sign-in-state.js';
import { Browser } from './support/http-client.js';
import { RedisServer } from './support/redis.js';

const ALICE: DirectoryUser = { username: 'alice', dn: 'uid=alice,ou=people,dc=example,dc=org', displayName: 'Alice', groups: [{ dn: 'cn=staff,ou=groups,dc=example,dc=org', name: 'staff' }] };
const NOW = 1_800_000_000_000;
const pendingAt = (startedAt: number, stage: PendingSignIn['stage'] = 'verify'): PendingSignIn => ({ user: ALICE, stage, remember: false, startedAt });

describe('sign-in level: what a record means', () => {
  const user = { username: 'alice', groups: ['staff'] };
  const cases: Array<[string, Partial<SessionData> | null | undefined, string]> = [
    ['no record', null, 'anonymous'],
    ['an empty record', {}, 'anonymous'],
    ['signed in (written before the level was stored)', { user, createdAt: NOW }, 'signed-in'],
    ['signed in', { level: 'signed-in', user, createdAt: NOW, proof: 'password+totp' }, 'signed-in'],
    ['password proven, second step to go (written before the level was stored)', { pending: pendingAt(NOW) }, 'password'],
    ['password proven, second step to go', { level: 'password', pending: pendingAt(NOW) }, 'password'],
    ['password proven ten minutes ago to the millisecond', { level: 'password', pending: pendingAt(NOW - PENDING_MS) }, 'password'],
    ['password proven longer ago than ten minutes', { level: 'password', pending: pendingAt(NOW - PENDING_MS - 1) }, 'anonymous'],
    ["password proven by a replica whose clock is a minute ahead", { level: 'password', pending: pendingAt(NOW + CLOCK_SKEW_MS) }, 'password'],
    ['password proven "later" than a minute from now (a skewed clock would stretch the ten minutes)', { level: 'password', pending: pendingAt(NOW + CLOCK_SKEW_MS + 1) }, 'anonymous'],
    ['"signed in" without a user', { level: 'signed-in', createdAt: NOW }, 'anonymous'],
    ['"signed in" without a start', { level: 'signed-in', user }, 'anonymous'],
    ['"password proven" with a user beside it', { level: 'password', user, createdAt: NOW, pending: pendingAt(NOW) }, 'anonymous'],
    ['"password proven" without the half-done sign-in', { level: 'password' }, 'anonymous'],
    ['a level this version does not know', { level: 'second-factor' as 'signed-in', user, createdAt: NOW }, 'anonymous'],
  ];
  for (const [name, record, level] of cases) {
    it(`${name}: ${level}`, () => assert.equal(stateOf(record, NOW).level, level));
  }

  it('the transitions: password proven drops any user; signed in drops the half-done sign-in and records how', () => {
    const record: Partial<SessionData> = { user, createdAt: NOW - 1 };
    passwordProven(record, pendingAt(NOW));
    assert.equal(record.user, undefined);
    assert.deepEqual(stateOf(record, NOW), { level: 'password', pending: pendingAt(NOW) });
    signedIn(record, { user, now: NOW + 5, proof: 'password+recovery', rememberMs: 60_000, ip: '192.0.2.1', userAgent: 'x'.repeat(400) });
    assert.equal(record.pending, undefined);
    assert.deepEqual(stateOf(record, NOW + 5), { level: 'signed-in', user, createdAt: NOW + 5, proof: 'password+recovery' });
    assert.equal(record.checkedAt, NOW + 5);
    assert.equal(record.rememberMs, 60_000);
    assert.equal(record.userAgent?.length, 300);
  });
});

describe('sign-in level: one store for the sign-in pages and the request path', () => {
  const redis = new RedisServer();
  let client: Redis;
  let subscriber: Redis;
  let service: SessionService;
  let server: Server;
  let base = '';
  const clock: Clock & { at: number } = { at: NOW, now: () => clock.at };
  const keys = redisKeys('level-test:');
  const config = { secret: 'level-test-secret-0123456789abcdef', cookieName: 'gw', idleTimeoutMs: 3_600_000, maxLifetimeMs: 43_200_000, secureCookie: false };

  before(async () => {
    await redis.start();
    client = new Redis(redis.url);
    subscriber = new Redis(redis.url);
    service = new SessionService(config, client, subscriber, keys, pino({ level: 'silent' }), clock);
    // The transitions as the sign-in pages run them, and the state as they read it.
    const app = express();
    app.use(service.middleware);
    app.post('/password', (req, res, next) => void service.beginSecondStep(req, { user: ALICE, stage: 'verify', remember: false }).then(() => res.end('ok'), next));
    app.post('/signed-in', (req, res, next) => void service.establish(req, ALICE, 'password+totp').then(() => res.end('ok'), next));
    app.get('/state', (req, res) => void res.json(service.state(req)));
    app.get('/lookup', (req, res, next) => void Promise.resolve(service.lookup(req.headers.cookie)).then((found) => res.json(found?.user.username ?? null), next));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.close();
    service?.close();
    client?.disconnect();
    subscriber?.disconnect();
    await redis.destroy();
  });

  const stateIn = async (b: Browser) => JSON.parse((await b.get('/state')).body) as { level: string; pending?: { startedAt: number }; proof?: string };
  const lookupIn = async (b: Browser) => JSON.parse((await b.get('/lookup')).body) as string | null;
  const recordOf = async (b: Browser) => JSON.parse((await client.get(keys.session(service.sidFromCookieHeader(b.cookieHeader()) ?? ''))) ?? 'null') as Partial<SessionData> | null;

  it('a half-done sign-in is "password" on the pages and nobody on the request path; it ends ten minutes after it began, by the clock', async () => {
    clock.at = NOW;
    const b = new Browser(base);
    assert.equal((await stateIn(b)).level, 'anonymous');
    await b.post('/password', {});
    assert.equal((await recordOf(b))?.level, 'password', 'the record holds its level');
    const state = await stateIn(b);
    assert.equal(state.level, 'password');
    assert.equal(state.pending?.startedAt, NOW, "the service's clock stamps the start");
    assert.equal(await lookupIn(b), null, 'a half-done sign-in is forwarded as nobody');
    clock.at = NOW + PENDING_MS;
    assert.equal((await stateIn(b)).level, 'password');
    clock.at = NOW + PENDING_MS + 1;
    assert.equal((await stateIn(b)).level, 'anonymous', 'stale: the sign-in starts over');
  });

  it('signed in: both sides read the same person; the record says how, and a new session id', async () => {
    clock.at = NOW;
    const b = new Browser(base);
    await b.post('/password', {});
    const halfway = service.sidFromCookieHeader(b.cookieHeader());
    await b.post('/signed-in', {});
    const sid = service.sidFromCookieHeader(b.cookieHeader());
    assert.notEqual(sid, halfway, 'no fixation across the steps');
    assert.equal(await client.exists(keys.session(halfway ?? '')), 0, 'the half-done record is gone');
    assert.deepEqual(await stateIn(b), { level: 'signed-in', user: { username: 'alice', displayName: 'Alice', groups: ['staff'] }, createdAt: NOW, proof: 'password+totp' });
    assert.equal(await lookupIn(b), 'alice');
    const record = await recordOf(b);
    assert.equal(record?.level, 'signed-in');
    assert.equal(record?.pending, undefined);
  });

  it('records written before the level was stored (an older replica) are read as that version read them', async () => {
    clock.at = NOW;
    const library = new RedisStore({ client, prefix: keys.sessionPrefix, ttl: 600 });
    const cookie = { originalMaxAge: null, expires: null, httpOnly: true, path: '/', sameSite: 'lax' };
    const write = (sid: string, data: object) => new Promise<void>((resolve, reject) => library.set(sid, { cookie, ...data } as unknown as SessionData, (err) => (err ? reject(err) : resolve())));
    // The cookie an older replica set for this id: the same name, the same signing.
    const cookieFor = (sid: string) => encodeURIComponent(`s:${sign(sid, config.secret)}`);
    await write('old-signed-in', { user: { username: 'bob', groups: [] }, createdAt: NOW - 1000, checkedAt: NOW - 1000 });
    await write('old-pending', { pending: pendingAt(NOW - 1000) });
    const signedInOld = new Browser(base);
    signedInOld.jar.set('gw', cookieFor('old-signed-in'));
    assert.equal((await stateIn(signedInOld)).level, 'signed-in');
    assert.equal(await lookupIn(signedInOld), 'bob');
    const pendingOld = new Browser(base);
    pendingOld.jar.set('gw', cookieFor('old-pending'));
    assert.equal((await stateIn(pendingOld)).level, 'password');
    assert.equal(await lookupIn(pendingOld), null);
  });

  it("records this version writes are read by an older replica's express-session and connect-redis", async () => {
    clock.at = Date.now();
    const b = new Browser(base);
    await b.post('/signed-in', {});
    // An older replica: the library's own middleware on the same keys, reading the fields it knew.
    const old = express();
    old.use(session({ name: 'gw', secret: config.secret, store: new RedisStore({ client, prefix: keys.sessionPrefix }), resave: false, saveUninitialized: false }));
    old.get('/', (req, res) => void res.json({ user: req.session.user?.username ?? null, createdAt: req.session.createdAt ?? null }));
    const oldServer = old.listen(0, '127.0.0.1');
    await new Promise((resolve) => oldServer.once('listening', resolve));
    try {
      const reply = await new Browser(`http://127.0.0.1:${(oldServer.address() as AddressInfo).port}`).request('GET', '/', { headers: [['Cookie', b.cookieHeader()]] });
      assert.deepEqual(JSON.parse(reply.body), { user: 'alice', createdAt: clock.at });
    } finally {
      oldServer.close();
    }
  });
});
