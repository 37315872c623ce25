import type { SessionData } from 'express-session';
import { RedisStore } from 'connect-redis';
import type { RedisClient as Redis } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';

/**
 * The gateway's sessions as connect-redis stores them: JSON under `sessionPrefix + sid`, with
 * the idle timeout as the key's TTL. express-session writes them on the sign-in pages; the
 * request path reads them, extends them and rewrites them without express-session. That format
 * is known here and nowhere else, and test/sessions.test.ts checks it against the library.
 */
export class SessionRecords {
  /** The store express-session is given, on the same keys. */
  readonly store: RedisStore;

  /** `ttlMsOf`: how long a record written by express-session lives (connect-redis asks at each write). */
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    ttlMsOf: (data: SessionData) => number = () => 86_400_000,
  ) {
    this.store = new RedisStore({ client: redis, prefix: keys.sessionPrefix, ttl: (data) => Math.max(1, Math.ceil(ttlMsOf(data) / 1000)) });
  }

  read(sid: string): Promise<SessionData | null | undefined> {
    return new Promise((resolve, reject) => this.store.get(sid, (err, value) => (err ? reject(err) : resolve(value as SessionData | null | undefined))));
  }

  /** Replaces a record only while it exists: a logout elsewhere in the meantime must not be undone. */
  async replaceIfPresent(sid: string, data: SessionData, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.session(sid), JSON.stringify(data), 'PX', ttlMs, 'XX')) === 'OK';
  }

  /** Pushes the idle expiry forward, as express-session's rolling cookie would. */
  async extend(sid: string, ttlMs: number): Promise<void> {
    await this.redis.pexpire(this.keys.session(sid), ttlMs);
  }

  /** Which of these session ids still have a record. */
  async existing(sids: readonly string[]): Promise<Set<string>> {
    // One key per command (a Cluster spreads sessions over slots); ioredis sends them together.
    const found = await Promise.all(sids.map((sid) => this.redis.exists(this.keys.session(sid))));
    return new Set(sids.filter((_, i) => found[i] === 1));
  }
}
