import type { RegulationConfig } from '../config/config.js';
import type { RedisClient as Redis } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from 'pino';
import { InvalidCredentialsError } from '../directory/errors.js';
import type { Metrics } from '../ops/metrics.js';
import { redisCall } from '../redis/errors.js';
import { addressKey } from '../address-key.js';


/**
 * A refused attempt while banned. It reads exactly like a wrong password (a
 * ban must not confirm that an account exists); only Retry-After tells when
 * trying again makes sense.
 */
export class BannedError extends InvalidCredentialsError {
  constructor(
    detail: string,
    readonly retryAfterSeconds: number,
  ) {
    super(detail);
  }
}

/** How long a successful sign-in from an address keeps that address trusted for its user. */
const KNOWN_ADDRESS_TTL_S = 30 * 86_400;

interface Counter {
  name: string;
  limiter: RateLimiterRedis;
  key: (username: string, ip: string) => string;
}

/**
 * The points one attempt took from the counters before its password reached the directory.
 * `release` gives them back (the password was right, or the directory never judged it);
 * `confirm` keeps them as a failure.
 */
export interface Reservation {
  readonly username: string;
  readonly ip: string;
  /** Per counter: whether a point was taken, and the count with it. */
  readonly taken: ReadonlyArray<{ counter: Counter; took: boolean; consumed: number }>;
}

/**
 * Takes a point only while the count is below the limit (KEYS[1]; ARGV: limit, window in ms), in
 * one step: a count at its limit, or banned (a ban stores the limit + 1), is left as it is, so
 * attempts refused at once never move it. Answers the count, its time to live, and whether a
 * point was taken.
 */
const TAKE_BELOW_LIMIT = `local n = tonumber(redis.call('get', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return {n, redis.call('pttl', KEYS[1]), 0} end
n = redis.call('incr', KEYS[1])
local ttl = redis.call('pttl', KEYS[1])
if ttl < 0 then
  redis.call('pexpire', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {n, ttl, 1}`;

/**
 * Gives a point back (KEYS[1]; ARGV: limit) unless the count has gone (a success deleted it, its
 * window ended) or a ban replaced it meanwhile: giving back from a ban would shorten it to
 * nothing, and a count below zero would hand out an extra attempt.
 */
const GIVE_BACK = `local n = tonumber(redis.call('get', KEYS[1]) or '0')
if n > 0 and n <= tonumber(ARGV[1]) then return redis.call('decr', KEYS[1]) end
return n`;

/**
 * Failed sign-ins counted in Redis (shared by every replica) per username and
 * address, per address, and per username, each with its own limit; bans grow
 * with each repeat. The per-username limit never refuses an address that has
 * signed in as that user before, so a stranger cannot cheaply lock a real
 * user out from elsewhere. Banned attempts never reach the directory, which
 * keeps the directory's own lockout from ever triggering.
 *
 * A password is checked against a reservation, not against a count: `reserve` takes the point
 * before the bind, atomically, so N concurrent attempts reach the directory at most as many
 * times as the limit allows, however they interleave.
 */
export class Regulation {
  private readonly counters: Counter[];
  private readonly bans: RateLimiterRedis;
  private readonly windowMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<RedisKeys, 'regulationCounter' | 'regulationBans' | 'regulationKnown'>,
    private readonly config: RegulationConfig,
  ) {
    const windowS = Math.max(1, Math.ceil(config.windowMs / 1000));
    this.windowMs = windowS * 1000;
    const limiter = (name: string, points: number) => new RateLimiterRedis({ storeClient: redis, keyPrefix: keys.regulationCounter(name), points, duration: windowS });
    this.counters = [
      { name: 'user+ip', limiter: limiter('user-ip', config.maxFailuresPerUserAndIp), key: (u, ip) => `${u}|${addressKey(ip)}` },
      { name: 'ip', limiter: limiter('ip', config.maxFailuresPerIp), key: (_u, ip) => addressKey(ip) },
      { name: 'user', limiter: limiter('user', config.maxFailuresPerUser), key: (u) => u },
    ];
    this.bans = new RateLimiterRedis({ storeClient: redis, keyPrefix: keys.regulationBans, points: 1_000_000, duration: Math.ceil(config.maxBanMs / 1000) });
  }

  private knownKey(username: string, ip: string): string {
    return this.keys.regulationKnown(username, addressKey(ip));
  }

  private async known(username: string, ip: string): Promise<boolean> {
    return (await this.redis.exists(this.knownKey(username, ip))) === 1;
  }

  /** Throws BannedError when any counter that applies has banned this attempt. */
  async check(username: string, ip: string): Promise<void> {
    if (!this.config.enabled) return;
    const known = await this.known(username, ip);
    for (const c of this.counters) {
      if (c.name === 'user' && known) continue;
      const res = await c.limiter.get(c.key(username, ip));
      if (res && res.consumedPoints >= c.limiter.points) {
        throw new BannedError(`banned by the ${c.name} limit`, Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
      }
    }
  }

  /**
   * Takes one point from every counter for an attempt about to reach the directory. Throws
   * BannedError (and keeps nothing) when a limit that applies is reached: a ban already running,
   * or the last allowed attempts still under way. The answer does not depend on the password,
   * which has not been looked at.
   */
  async reserve(username: string, ip: string): Promise<Reservation> {
    if (!this.config.enabled) return { username, ip, taken: [] };
    const known = await this.known(username, ip);
    const taken: Array<{ counter: Counter; took: boolean; consumed: number }> = [];
    const reservation = { username, ip, taken };
    let refusal: { limit: string; ms: number } | undefined;
    for (const counter of this.counters) {
      const result = (await this.redis.eval(TAKE_BELOW_LIMIT, 1, counter.limiter.getKey(counter.key(username, ip)), counter.limiter.points, this.windowMs)) as [number, number, number];
      const [consumed, ms, took] = result;
      taken.push({ counter, took: took === 1, consumed });
      // The per-user limit never refuses an address the person signed in from.
      if (took === 1 || (counter.name === 'user' && known)) continue;
      if (!refusal || ms > refusal.ms) refusal = { limit: counter.name, ms };
    }
    if (!refusal) return reservation;
    await this.release(reservation);
    throw new BannedError(`banned by the ${refusal.limit} limit`, Math.max(1, Math.ceil(refusal.ms / 1000)));
  }

  /** The reserved attempt was no failure: its points go back. */
  async release(reservation: Reservation): Promise<void> {
    for (const { counter, took } of reservation.taken) {
      if (took) await this.redis.eval(GIVE_BACK, 1, counter.limiter.getKey(counter.key(reservation.username, reservation.ip)), counter.limiter.points);
    }
  }

  /** The reserved attempt failed: its points stay, and a counter it brought to its limit bans. */
  async confirm(reservation: Reservation): Promise<Array<{ limit: string; seconds: number }>> {
    const started: Array<{ limit: string; seconds: number }> = [];
    for (const { counter, took, consumed } of reservation.taken) {
      // Exactly one attempt brings a counter to its limit, however many ran at once.
      if (!took || consumed !== counter.limiter.points) continue;
      started.push(await this.ban(counter, counter.key(reservation.username, reservation.ip)));
    }
    return started;
  }

  /** Counts one failure that no reservation preceded; returns the bans it started (for the audit log). */
  async failed(username: string, ip: string): Promise<Array<{ limit: string; seconds: number }>> {
    if (!this.config.enabled) return [];
    return this.confirm(await this.take(username, ip));
  }

  async succeeded(username: string, ip: string): Promise<void> {
    if (!this.config.enabled) return;
    const userIp = this.counters[0];
    if (userIp) await userIp.limiter.delete(userIp.key(username, ip));
    await this.redis.set(this.knownKey(username, ip), '1', 'EX', KNOWN_ADDRESS_TTL_S);
  }

  /** One point from every counter, past the limit too (the limiter refuses but still counts). */
  private async take(username: string, ip: string): Promise<Reservation> {
    const taken: Array<{ counter: Counter; took: boolean; consumed: number }> = [];
    for (const counter of this.counters) {
      let res: RateLimiterRes;
      try {
        res = await counter.limiter.consume(counter.key(username, ip));
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        res = err;
      }
      taken.push({ counter, took: true, consumed: res.consumedPoints });
    }
    return { username, ip, taken };
  }

  /** Bans a key that reached its limit, twice as long as the last time (up to the maximum). */
  private async ban(counter: Counter, key: string): Promise<{ limit: string; seconds: number }> {
    let bansSoFar = 1;
    try {
      bansSoFar = (await this.bans.consume(`${counter.name}|${key}`)).consumedPoints;
    } catch (banErr) {
      if (!(banErr instanceof RateLimiterRes)) throw banErr;
      bansSoFar = banErr.consumedPoints;
    }
    const seconds = Math.ceil(Math.min(this.config.banMs * 2 ** (bansSoFar - 1), this.config.maxBanMs) / 1000);
    await counter.limiter.block(key, seconds);
    return { limit: counter.name, seconds };
  }
}

/**
 * Counts one failed attempt under `key` and address; each ban that starts is counted
 * (`gateway_bans_total`, prefixed with the step for the second factor) and logged as
 * `regulation.ban`, whichever check failed: a password, a current password, a code.
 */
export async function countFailure(
  regulation: Pick<Regulation, 'failed'>,
  key: string,
  ip: string,
  report: { metrics: Pick<Metrics, 'bans'>; log: Logger; step?: 'second-factor' },
): Promise<void> {
  const { step } = report;
  const bans = await redisCall('regulation', step ? 'second-step attempts' : 'sign-in attempts', () => regulation.failed(key, ip));
  reportBans(bans, key, ip, report);
}

/** Keeps a reserved attempt's points as a failure; bans that start are counted and logged as countFailure's are. */
export async function countReservedFailure(regulation: Pick<Regulation, 'confirm'>, reservation: Reservation, report: { metrics: Pick<Metrics, 'bans'>; log: Logger }): Promise<void> {
  const bans = await redisCall('regulation', 'sign-in attempts', () => regulation.confirm(reservation));
  reportBans(bans, reservation.username, reservation.ip, report);
}

function reportBans(bans: Array<{ limit: string; seconds: number }>, key: string, ip: string, report: { metrics: Pick<Metrics, 'bans'>; log: Logger; step?: 'second-factor' }): void {
  const { metrics, log, step } = report;
  for (const ban of bans) {
    metrics.bans.inc({ limit: step ? `${step} ${ban.limit}` : ban.limit });
    log.warn({ event: 'regulation.ban', ...(step ? { step } : {}), username: key, ip, limit: ban.limit, seconds: ban.seconds }, step ? 'second steps banned' : 'sign-ins banned');
  }
}
