import type { SessionData } from 'express-session';
import type { RedisClient as Redis } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';
import { UserSessionIndex } from './user-index.js';

/** One signed-in session of a person, as the account page and `sessions list` show it. */
export interface SessionSummary {
  sid: string;
  username: string;
  createdAt: number;
  /** When a request last pushed its idle expiry forward (exact to a tenth of the idle timeout, at most a minute). */
  lastSeenAt: number;
  ip?: string;
  userAgent?: string;
  remembered: boolean;
}

/**
 * Every live session of a person, newest first, read with nothing but Redis (the account page,
 * and `sessions list` without a server). "Last seen" is read off the record's TTL: the request
 * path renews it on use, so no write per request is needed to know it.
 */
export async function listUserSessions(redis: Redis, keys: RedisKeys, config: { maxLifetimeMs: number; idleTimeoutMs: number }, username: string, now = Date.now()): Promise<SessionSummary[]> {
  const index = new UserSessionIndex(redis, keys, config.maxLifetimeMs);
  const sids = await index.list(username);
  // One key per command: a Redis Cluster spreads sessions over slots; ioredis pipelines them.
  const found = await Promise.all(sids.map(async (sid) => ({ sid, raw: await redis.get(keys.session(sid)), ttl: await redis.pttl(keys.session(sid)) })));
  const out: SessionSummary[] = [];
  for (const { sid, raw, ttl } of found) {
    const data = raw === null ? undefined : (JSON.parse(raw) as SessionData);
    if (!data?.user || data.user.username !== username || ttl <= 0) {
      await index.remove(username, sid);
      continue;
    }
    const idleMs = data.rememberMs ?? config.idleTimeoutMs;
    out.push({
      sid,
      username,
      createdAt: data.createdAt,
      lastSeenAt: Math.max(data.createdAt, now - (idleMs - ttl)),
      ...(data.ip ? { ip: data.ip } : {}),
      ...(data.userAgent ? { userAgent: data.userAgent } : {}),
      remembered: data.rememberMs !== undefined,
    });
  }
  return out.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
}
