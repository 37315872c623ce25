import type { RedisClient as Redis } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';
import { UserSessionIndex } from './user-index.js';

/**
 * Ends every session of one user with nothing but Redis: used by the server
 * (re-check) and by `sync --deprovision`, which runs without a server. Every
 * replica hears the end on the pub/sub channel and closes its websockets.
 */
export async function revokeUserSessions(redis: Redis, keys: RedisKeys, maxLifetimeMs: number, username: string): Promise<string[]> {
  const index = new UserSessionIndex(redis, keys, maxLifetimeMs);
  const sids = await index.list(username);
  await endSessions(redis, keys, sids);
  await index.clear(username);
  return sids;
}

/** Ends some sessions of one person (only ids of theirs, from the account page); returns those that were ended. */
export async function revokeSessions(redis: Redis, keys: RedisKeys, maxLifetimeMs: number, username: string, sids: readonly string[]): Promise<string[]> {
  const index = new UserSessionIndex(redis, keys, maxLifetimeMs);
  const theirs = new Set(await index.list(username));
  const ended = sids.filter((sid) => theirs.has(sid));
  await endSessions(redis, keys, ended);
  await Promise.all(ended.map((sid) => index.remove(username, sid)));
  return ended;
}

/** Deletes the sessions and their Paperless sessions, and announces each end to every replica. */
async function endSessions(redis: Redis, keys: RedisKeys, sids: readonly string[]): Promise<void> {
  // One key per command: a Redis Cluster refuses multi-key commands across slots.
  await Promise.all(sids.flatMap((sid) => [redis.del(keys.session(sid)), redis.del(keys.paperlessSession(sid))]));
  for (const sid of sids) await redis.publish(keys.sessionEnded, sid);
}
