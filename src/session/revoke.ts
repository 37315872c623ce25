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
  // One key per command: a Redis Cluster refuses multi-key commands across slots.
  await Promise.all(sids.flatMap((sid) => [redis.del(keys.session(sid)), redis.del(keys.paperlessSession(sid))]));
  await index.clear(username);
  for (const sid of sids) await redis.publish(keys.sessionEnded, sid);
  return sids;
}
