import type { RedisClient as Redis } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';
import { UserSessionIndex } from './user-index.js';

/**
 * Ends every session of one user with nothing but Redis, for `sync --deprovision`, which runs
 * without a server (see UserSessionIndex). `_maxLifetimeMs` is no longer read: the index knows
 * how long each of its sessions lives.
 */
export function revokeUserSessions(redis: Redis, keys: RedisKeys, _maxLifetimeMs: number, username: string): Promise<string[]> {
  return new UserSessionIndex(redis, keys).revokeAll(username);
}
