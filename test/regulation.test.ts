/**
 * Regulation's rules in-process against a private redis-server (its store, as in production):
 * which counter bans when, how bans grow, and what a success or a known address changes. No
 * gateway, no waiting: each case takes milliseconds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { BannedError, Regulation } from '../src/auth/regulation.js';
import type { RegulationConfig } from '../src/config/config.js';
import { redisKeys } from '../src/redis/keys.js';
import { RedisServer } from './support/redis.js';

const CONFIG: RegulationConfig = {
  enabled: true,
  maxFailuresPerUserAndIp: 3,
  maxFailuresPerIp: 5,
  maxFailuresPerUser: 4,
  windowMs: 600_000,
  banMs: 60_000,
  maxBanMs: 200_000,
};

describe('Regulation: per user and address, per address, per user', () => {
  const server = new RedisServer();
  let redis: Redis;
  let prefix = 0;
  const regulation = (config: Partial<RegulationConfig> = {}) => new Regulation(redis, redisKeys(`t${++prefix}:`), { ...CONFIG, ...config });

  before(async () => {
    await server.start();
    redis = new Redis(server.url);
  });
  after(async () => {
    redis.disconnect();
    await server.destroy();
  });

  async function fail(r: Regulation, username: string, ip: string, times: number) {
    const bans: Array<{ limit: string; seconds: number }> = [];
    for (let i = 0; i < times; i++) bans.push(...(await r.failed(username, ip)));
    return bans;
  }

  it('the user+address limit bans that pair only, for banMs, on the failure that reaches it', async () => {
    const r = regulation();
    assert.deepEqual(await fail(r, 'alice', '10.0.0.1', 2), []);
    await r.check('alice', '10.0.0.1');
    assert.deepEqual(await fail(r, 'alice', '10.0.0.1', 1), [{ limit: 'user+ip', seconds: 60 }]);
    const banned = await r.check('alice', '10.0.0.1').then(() => undefined, (err: unknown) => err);
    assert.ok(banned instanceof BannedError, 'the pair is banned');
    assert.ok(banned.retryAfterSeconds > 55 && banned.retryAfterSeconds <= 60, `Retry-After ${banned.retryAfterSeconds}`);
    await r.check('alice', '10.0.0.2');
    await r.check('bob', '10.0.0.1');
  });

  it('an IPv6 client counts by its /64: rotating addresses within it does not escape a ban; another /64, or IPv4, is apart', async () => {
    const r = regulation({ maxFailuresPerUserAndIp: 1000, maxFailuresPerUser: 1000 });
    for (let i = 1; i <= 5; i++) await r.failed(`user${i}`, `2001:db8:1:2::${i.toString(16)}`);
    const banned = await r.check('someone', '2001:db8:1:2:ffff:eeee:dddd:cccc').then(() => undefined, (err: unknown) => err);
    assert.ok(banned instanceof BannedError, 'the whole /64 is banned');
    await r.check('someone', '2001:db8:1:3::1');
    await r.check('someone', '10.0.0.9');
  });

  it('each further ban of the same key lasts twice as long, up to maxBanMs', async () => {
    const r = regulation({ maxFailuresPerUserAndIp: 1, maxFailuresPerIp: 1000, maxFailuresPerUser: 1000 });
    const seconds: number[] = [];
    for (let i = 0; i < 4; i++) {
      const bans = await r.failed('alice', '10.0.0.3');
      seconds.push(...bans.map((b) => b.seconds));
      await redis.del(...(await redis.keys(`t${prefix}:rl:user-ip*`))); // the ban ends; the record of bans stays
    }
    assert.deepEqual(seconds, [60, 120, 200, 200]);
  });

  it('the per-address limit bans every name from that address', async () => {
    const r = regulation();
    const bans = [...(await fail(r, 'a', '10.0.0.4', 2)), ...(await fail(r, 'b', '10.0.0.4', 2)), ...(await fail(r, 'c', '10.0.0.4', 1))];
    assert.deepEqual(bans, [{ limit: 'ip', seconds: 60 }]);
    await assert.rejects(r.check('someone-else', '10.0.0.4'), BannedError);
    await r.check('someone-else', '10.0.0.5');
  });

  it('the per-user limit does not lock the owner out from an address they signed in from', async () => {
    const r = regulation();
    await r.succeeded('alice', '10.0.0.6'); // alice's own laptop
    const bans = [...(await fail(r, 'alice', '10.1.0.1', 2)), ...(await fail(r, 'alice', '10.1.0.2', 2))];
    assert.deepEqual(bans, [{ limit: 'user', seconds: 60 }], 'strangers from two addresses ban the name');
    await assert.rejects(r.check('alice', '10.1.0.3'), BannedError, 'for every new address');
    await r.check('alice', '10.0.0.6');
  });

  it('a success clears the pair\'s failures; with regulation off nothing is counted or refused', async () => {
    const r = regulation();
    await fail(r, 'carol', '10.0.0.7', 2);
    await r.succeeded('carol', '10.0.0.7');
    // Two more: the pair's count started again (no user+ip ban); the name's count did not, and its
    // ban does not apply to an address carol signed in from.
    assert.deepEqual(await fail(r, 'carol', '10.0.0.7', 2), [{ limit: 'user', seconds: 60 }]);
    await r.check('carol', '10.0.0.7');
    await assert.rejects(r.check('carol', '10.0.0.9'), BannedError);
    const off = regulation({ enabled: false });
    assert.deepEqual(await fail(off, 'dave', '10.0.0.8', 10), []);
    await off.check('dave', '10.0.0.8');
    assert.deepEqual(await redis.keys(`t${prefix}:*`), [], 'and nothing is written');
  });

  it('reserve: a burst of concurrent attempts gets at most the limit, and the refused ones move no count', async () => {
    const r = regulation({ maxFailuresPerIp: 1000, maxFailuresPerUser: 1000 });
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => r.reserve('alice', '10.2.0.1')));
    const granted = outcomes.filter((o) => o.status === 'fulfilled');
    assert.equal(granted.length, 3, 'the limit of 3');
    assert.ok(outcomes.every((o) => o.status === 'fulfilled' || o.reason instanceof BannedError), 'the rest are banned attempts');
    assert.equal(await redis.get(`t${prefix}:rl:user-ip:alice|10.2.0.1`), '3');
    assert.equal(await redis.get(`t${prefix}:rl:user:alice`), '3', 'a refused attempt gave back what it took from the other counters');
  });

  it('reserve: the attempt that reaches the limit and fails bans; giving points back afterwards never shortens the ban', async () => {
    const r = regulation({ maxFailuresPerIp: 1000, maxFailuresPerUser: 1000 });
    const [first, second, third] = await Promise.all([r.reserve('bob', '10.2.0.2'), r.reserve('bob', '10.2.0.2'), r.reserve('bob', '10.2.0.2')]);
    assert.deepEqual(await r.confirm(third), [{ limit: 'user+ip', seconds: 60 }]);
    assert.deepEqual(await r.confirm(second), [], 'one ban, however many failed');
    await r.release(first); // its password was right, or the directory was down
    await assert.rejects(r.check('bob', '10.2.0.2'), BannedError);
    const banned = await r.reserve('bob', '10.2.0.2').then(() => undefined, (err: unknown) => err);
    assert.ok(banned instanceof BannedError && banned.retryAfterSeconds > 55, 'still banned, with the ban\'s Retry-After');
  });

  it('reserve: a released attempt is no failure, and the per-user limit never refuses an address the person signed in from', async () => {
    const r = regulation();
    await r.release(await r.reserve('carol', '10.2.0.3'));
    assert.deepEqual(await redis.keys(`t${prefix}:rl:user:*`).then((keys) => Promise.all(keys.map((k) => redis.get(k)))), ['0']);
    await r.succeeded('carol', '10.2.0.4');
    for (let i = 0; i < 4; i++) await r.confirm(await r.reserve('carol', `10.2.1.${i}`));
    await assert.rejects(r.reserve('carol', '10.2.1.9'), BannedError, 'strangers are refused');
    await r.release(await r.reserve('carol', '10.2.0.4'));
  });
});
