import type { RedisClient as Redis } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';

/**
 * Per-user set of session ids, so every session of one person can be listed
 * and revoked (logout everywhere, deprovisioning, directory re-check).
 */
export class UserSessionIndex {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly ttlMs: number,
  ) {}

  private key(username: string): string {
    return this.keys.userSessions(username);
  }

  async add(username: string, sid: string): Promise<void> {
    // The set lives as long as the longest session could; stale ids are pruned on revoke.
    await this.redis.multi().sadd(this.key(username), sid).pexpire(this.key(username), this.ttlMs).exec();
  }

  async remove(username: string, sid: string): Promise<void> {
    await this.redis.srem(this.key(username), sid);
  }

  async list(username: string): Promise<string[]> {
    return this.redis.smembers(this.key(username));
  }

  async clear(username: string): Promise<void> {
    await this.redis.del(this.key(username));
  }
}
