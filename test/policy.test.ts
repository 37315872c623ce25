/**
 * The policy classes in-process, with a clock the test moves: milliseconds each, no servers.
 * The stack tests prove the wiring; these prove the rules.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ResponseTiming } from '../src/auth/response-timing.js';
import type { AccountStatus } from '../src/directory/account-status.js';
import type { DirectoryUser } from '../src/directory/directory.js';
import { CredentialCache } from '../src/proxy/credential-cache.js';
import { runSteps, type Decision, type Exchange, type Row, type Step } from '../src/proxy/exchange.js';
import { DirectoryRecheck } from '../src/session/recheck.js';
import { SessionCache, type CachedSession } from '../src/session/session-cache.js';
import type { LoadedSession } from '../src/session/sessions.js';

const silent = pino({ level: 'silent' });

class FakeClock {
  constructor(public ms = 1_000_000) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

const session = (username: string, checkedAt: number, sid = `sid-${username}`): LoadedSession => ({
  sid,
  user: { username } as LoadedSession['user'],
  createdAt: checkedAt,
  checkedAt,
  endsAt: checkedAt + 3_600_000,
  idleMs: 600_000,
});

describe('runSteps: the request path runner', () => {
  const exchange = (): Exchange => ({ req: { method: 'GET' } as IncomingMessage, path: '/x', to: { kind: 'http', res: {} as ServerResponse } });
  const refuse: Decision = { kind: 'refuse', status: 403, detail: 'no' };

  function harness(rows: Row[], transport: 'http' | 'websocket' = 'http') {
    const applied: Decision[] = [];
    const failed: unknown[] = [];
    const run = runSteps(rows, transport, (_x, d) => applied.push(d), (_x, err) => failed.push(err));
    return { run, applied, failed };
  }
  const row = (step: Step, ...on: Row['on'][number][]): Row => ({ step, on: on.length ? on : ['http', 'websocket'] });

  it('runs synchronous steps in one go (no promise), and applies the first decision only', () => {
    const seen: string[] = [];
    const { run, applied } = harness([
      row(() => (seen.push('a'), undefined)),
      row(() => (seen.push('b'), refuse)),
      row(() => (seen.push('c'), { kind: 'sign-in' })),
    ]);
    run(exchange());
    assert.deepEqual(seen, ['a', 'b'], 'decided synchronously, later steps never ran');
    assert.deepEqual(applied, [refuse]);
  });

  it('goes on after an asynchronous step that passes, and stops at one that decides', async () => {
    const { run, applied } = harness([row(async () => undefined), row(() => undefined), row(async () => refuse)]);
    run(exchange());
    assert.deepEqual(applied, [], 'nothing yet: a step is pending');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(applied, [refuse]);
  });

  it('runs only the rows for its transport', () => {
    const { run, applied } = harness([row(() => refuse, 'http'), row(() => ({ kind: 'sign-in' }))], 'websocket');
    run({ ...exchange(), to: { kind: 'websocket', socket: {} as never, head: Buffer.alloc(0) } });
    assert.deepEqual(applied, [{ kind: 'sign-in' }]);
  });

  it('sends a thrown error, a rejected step, a throwing forwarder and "nobody decided" to fail', async () => {
    const boom = new Error('boom');
    const thrown = harness([row(() => { throw boom; })]);
    thrown.run(exchange());
    assert.deepEqual(thrown.failed, [boom]);

    const rejected = harness([row(() => Promise.reject(boom))]);
    rejected.run(exchange());
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(rejected.failed, [boom]);

    const failed: unknown[] = [];
    runSteps([row(() => refuse)], 'http', () => { throw boom; }, (_x, err) => failed.push(err))(exchange());
    assert.deepEqual(failed, [boom]);

    const nobody = harness([row(() => undefined)]);
    nobody.run(exchange());
    assert.match(String(nobody.failed[0]), /no step decided on http GET \/x/);
  });
});

describe('DirectoryRecheck: once per interval, one lookup per user, outages keep sessions', () => {
  const alice = { username: 'alice' } as DirectoryUser;

  function setup(answer: () => Promise<AccountStatus>) {
    const clock = new FakeClock();
    const revoked: string[] = [];
    let lookups = 0;
    const recheck = new DirectoryRecheck(
      () => {
        lookups++;
        return answer();
      },
      60_000,
      { revokeUser: async (username) => (revoked.push(username), 1) },
      silent,
      clock,
    );
    return { clock, recheck, revoked, lookups: () => lookups };
  }

  it('is due only once the interval has passed since the last confirmation', () => {
    const { clock, recheck } = setup(async () => ({ active: true, user: alice }));
    const s = session('alice', clock.now());
    assert.equal(recheck.due(s), false);
    clock.advance(59_999);
    assert.equal(recheck.due(s), false);
    clock.advance(1);
    assert.equal(recheck.due(s), true);
  });

  it('asks the directory once for any number of concurrent requests of one user', async () => {
    let release = (_: AccountStatus) => undefined as void;
    const { recheck, lookups } = setup(() => new Promise((r) => (release = r)));
    const all = Promise.all([recheck.status('alice'), recheck.status('alice'), recheck.status('alice')]);
    release({ active: true, user: alice });
    const answers = await all;
    assert.equal(lookups(), 1);
    assert.ok(answers.every((a) => a?.active));
  });

  it('revokes every session of an account the directory refuses', async () => {
    const { recheck, revoked } = setup(async () => ({ active: false, reason: 'no longer in an allowed group' }));
    assert.deepEqual(await recheck.status('alice'), { active: false, reason: 'no longer in an allowed group' });
    assert.deepEqual(revoked, ['alice']);
  });

  it('keeps sessions through an outage, and waits 30 s before asking for that user again', async () => {
    let down = true;
    const { clock, recheck, revoked, lookups } = setup(async () => {
      if (down) throw new Error('directory down');
      return { active: true, user: alice };
    });
    const s = session('alice', clock.now() - 120_000);
    assert.equal(await recheck.status('alice'), undefined, 'could not tell');
    assert.deepEqual(revoked, [], 'nobody signed out');
    assert.equal(recheck.due(s), false, 'not asked again at once');
    clock.advance(29_999);
    assert.equal(recheck.due(s), false);
    clock.advance(1);
    assert.equal(recheck.due(s), true);
    down = false;
    assert.equal((await recheck.status('alice'))?.active, true);
    assert.equal(lookups(), 2);
  });
});

describe('ResponseTiming: refusals take as long as successes', () => {
  function timing() {
    let now = 0;
    const slept: number[] = [];
    const t = new ResponseTiming(150, { now: () => now, sleep: async (ms) => void slept.push(ms), random: () => 0 });
    return { t, slept, setNow: (ms: number) => (now = ms) };
  }

  it('pads to the minimum with no history, then to 110 % of the 95th percentile of recent successes', async () => {
    const { t, slept, setNow } = timing();
    assert.equal(t.floorMs(), 150);
    setNow(40);
    await t.pad(0);
    assert.deepEqual(slept, [110], 'waited the rest of the floor');
    for (let i = 1; i <= 100; i++) t.recordSuccess(i * 10);
    // Only the last 64 count: 370..1000 ms; their 95th percentile is 970 ms.
    assert.equal(Math.round(t.floorMs()), Math.round(970 * 1.1));
    setNow(5000);
    await t.pad(0);
    assert.equal(slept.length, 1, 'nothing to wait for once the floor has passed');
  });
});

describe('CredentialCache and SessionCache: bounded, and nothing outlives its time', () => {
  it('forgets a credential after its TTL and the oldest beyond its size; keys are the credentials, whole', () => {
    const clock = new FakeClock();
    const cache = new CredentialCache<string>(1000, 2, clock);
    cache.set('alice', 'alice', 'pw');
    assert.equal(cache.get('alice', 'pw'), 'alice');
    assert.equal(cache.get('alice', 'pw2'), undefined);
    assert.equal(cache.get('alicep', 'w'), undefined, 'parts are kept apart');
    clock.advance(1000);
    assert.equal(cache.get('alice', 'pw'), undefined, 'expired');
    cache.set('a', 'a', '1');
    cache.set('b', 'b', '1');
    cache.set('c', 'c', '1');
    assert.equal(cache.get('a', '1'), undefined, 'the oldest made room');
    assert.equal(cache.get('c', '1'), 'c');
  });

  it('drops a session by id at once, sweeps old entries, and evicts the oldest when full', () => {
    const cache = new SessionCache(2);
    const entry = (sid: string, fetchedAt: number): CachedSession => ({ session: session(sid, 0, sid), data: {} as CachedSession['data'], fetchedAt, touchedAt: 0 });
    cache.set('cookie-a', entry('a', 10));
    cache.set('cookie-b', entry('b', 20));
    cache.dropSid('a');
    assert.equal(cache.get('cookie-a'), undefined);
    cache.set('cookie-c', entry('c', 30));
    cache.set('cookie-d', entry('d', 40));
    assert.equal(cache.get('cookie-b'), undefined, 'evicted: the oldest');
    assert.equal(cache.entryForSid('d')?.session.sid, 'd');
    cache.sweep(35);
    assert.equal(cache.size, 1);
    assert.equal(cache.entryForSid('c'), undefined);
  });
});
