import type { RedisClient as Redis } from './redis.js';
import { UserSessionIndex } from './user-index.js';

/** Key names shared by the server and the CLI, so both see the same sessions. */
export function sessionKeys(prefix: string) {
  return {
    session: (sid: string) => `${prefix}sess:${sid}`,
    /** Paperless's own session id for a gateway session: kept here, never in the browser. */
    paperlessSession: (sid: string) => `${prefix}paperless-session:${sid}`,
    endedChannel: `${prefix}session-ended`,
  };
}

/**
 * Ends every session of one user with nothing but Redis: used by the server
 * (re-check) and by `sync --deprovision`, which runs without a server. Every
 * replica hears the end on the pub/sub channel and closes its websockets.
 */
export async function revokeUserSessions(redis: Redis, prefix: string, maxLifetimeMs: number, username: string): Promise<string[]> {
  const keys = sessionKeys(prefix);
  const index = new UserSessionIndex(redis, prefix, maxLifetimeMs);
  const sids = await index.list(username);
  // One key per command: a Redis Cluster refuses multi-key commands across slots.
  await Promise.all(sids.flatMap((sid) => [redis.del(keys.session(sid)), redis.del(keys.paperlessSession(sid))]));
  await index.clear(username);
  for (const sid of sids) await redis.publish(keys.endedChannel, sid);
  return sids;
}
