import type { RegulationConfig } from '../config/config.js';
import type { RedisClient as Redis } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from 'pino';
import { InvalidCredentialsError } from '../directory/errors.js';
import type { Metrics } from '../ops/metrics.js';
import { redisCall } from '../redis/errors.js';


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
 * Failed sign-ins counted in Redis (shared by every replica) per username and
 * address, per address, and per username, each with its own limit; bans grow
 * with each repeat. The per-username limit never refuses an address that has
 * signed in as that user before, so a stranger cannot cheaply lock a real
 * user out from elsewhere. Banned attempts never reach the directory, which
 * keeps the directory's own lockout from ever triggering.
 */
export class Regulation {
  private readonly counters: Counter[];
  private readonly bans: RateLimiterRedis;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<RedisKeys, 'regulationCounter' | 'regulationBans' | 'regulationKnown'>,
    private readonly config: RegulationConfig,
  ) {
    const windowS = Math.max(1, Math.ceil(config.windowMs / 1000));
    const limiter = (name: string, points: number) => new RateLimiterRedis({ storeClient: redis, keyPrefix: keys.regulationCounter(name), points, duration: windowS });
    this.counters = [
      { name: 'user+ip', limiter: limiter('user-ip', config.maxFailuresPerUserAndIp), key: (u, ip) => `${u}|${ip}` },
      { name: 'ip', limiter: limiter('ip', config.maxFailuresPerIp), key: (_u, ip) => ip },
      { name: 'user', limiter: limiter('user', config.maxFailuresPerUser), key: (u) => u },
    ];
    this.bans = new RateLimiterRedis({ storeClient: redis, keyPrefix: keys.regulationBans, points: 1_000_000, duration: Math.ceil(config.maxBanMs / 1000) });
  }

  private knownKey(username: string, ip: string): string {
    return this.keys.regulationKnown(username, ip);
  }

  /** Throws BannedError when any counter that applies has banned this attempt. */
  async check(username: string, ip: string): Promise<void> {
    if (!this.config.enabled) return;
    const known = (await this.redis.exists(this.knownKey(username, ip))) === 1;
    for (const c of this.counters) {
      if (c.name === 'user' && known) continue;
      const res = await c.limiter.get(c.key(username, ip));
      if (res && res.consumedPoints >= c.limiter.points) {
        throw new BannedError(`banned by the ${c.name} limit`, Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
      }
    }
  }

  /** Counts one failure; returns the bans it started (for the audit log). */
  async failed(username: string, ip: string): Promise<Array<{ limit: string; seconds: number }>> {
    const started: Array<{ limit: string; seconds: number }> = [];
    if (!this.config.enabled) return started;
    for (const c of this.counters) {
      const key = c.key(username, ip);
      let consumed: number;
      try {
        consumed = (await c.limiter.consume(key)).consumedPoints;
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
        consumed = err.consumedPoints;
      }
      if (consumed < c.limiter.points) continue;
      // The limit is reached: ban, twice as long as the last time (up to the maximum).
      let bansSoFar = 1;
      try {
        bansSoFar = (await this.bans.consume(`${c.name}|${key}`)).consumedPoints;
      } catch (banErr) {
        if (!(banErr instanceof RateLimiterRes)) throw banErr;
        bansSoFar = banErr.consumedPoints;
      }
      const seconds = Math.ceil(Math.min(this.config.banMs * 2 ** (bansSoFar - 1), this.config.maxBanMs) / 1000);
      await c.limiter.block(key, seconds);
      started.push({ limit: c.name, seconds });
    }
    return started;
  }

  async succeeded(username: string, ip: string): Promise<void> {
    if (!this.config.enabled) return;
    const userIp = this.counters[0];
    if (userIp) await userIp.limiter.delete(userIp.key(username, ip));
    await this.redis.set(this.knownKey(username, ip), '1', 'EX', KNOWN_ADDRESS_TTL_S);
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
  const { metrics, log, step } = report;
  const bans = await redisCall('regulation', step ? 'second-step attempts' : 'sign-in attempts', () => regulation.failed(key, ip));
  for (const ban of bans) {
    metrics.bans.inc({ limit: step ? `${step} ${ban.limit}` : ban.limit });
    log.warn({ event: 'regulation.ban', ...(step ? { step } : {}), username: key, ip, limit: ban.limit, seconds: ban.seconds }, step ? 'second steps banned' : 'sign-ins banned');
  }
}
