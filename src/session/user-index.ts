import { stateOf } from './sign-in-state.js';
import type { SessionData } from 'express-session';
import { Cluster } from 'ioredis';
import type { RedisClient as Redis } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';

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
 * Adds a session id and makes the set live at least as long as that session can: the set's
 * lifetime only ever grows, so a short session added after a remembered one cannot cut the
 * remembered one out of it. A set without an expiry (PTTL -1, just created) gets this one.
 */
const ADD = `
local added = redis.call('SADD', KEYS[1], ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return left`;

/**
 * The per-person set of session ids, and the only code that reads or writes it: every session of
 * one person must always be found and ended (logout everywhere, a password change, the directory
 * re-check, deprovisioning, `sessions revoke`). The set lives as long as the longest session it
 * holds, and each use of a session renews its place in it. Used by the server and, with nothing
 * but Redis, by the CLI (`sessions`, `sync --deprovision`); every replica hears an end on the
 * pub/sub channel and closes its websockets.
 */
export class UserSessionIndex {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  private key(username: string): string {
    return this.keys.userSessions(username);
  }

  /** Records a session of this person that may live `liveMs` more (idempotent: also a renewal). */
  async add(username: string, sid: string, liveMs: number): Promise<void> {
    await this.redis.eval(ADD, 1, this.key(username), sid, String(Math.max(1000, Math.ceil(liveMs))));
  }

  async remove(username: string, sid: string): Promise<void> {
    await this.redis.srem(this.key(username), sid);
  }

  private list(username: string): Promise<string[]> {
    return this.redis.smembers(this.key(username));
  }

  /** Everyone with a session: SCAN on each master (a Cluster spreads the keys over its nodes). */
  async usernames(): Promise<string[]> {
    const nodes = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    const prefix = this.keys.userSessions('');
    const names = new Set<string>();
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', this.keys.userSessionsPattern, 'COUNT', 500);
        cursor = next;
        for (const key of found) names.add(key.slice(prefix.length));
      } while (cursor !== '0');
    }
    return [...names].sort();
  }

  /**
   * Every live session of a person, newest first (the account page, and `sessions list` without a
   * server). "Last seen" is read off the record's TTL: the request path renews it on use, so no
   * write per request is needed to know it. Ids whose record is gone are pruned.
   */
  async summaries(username: string, idleTimeoutMs: number, now = Date.now()): Promise<SessionSummary[]> {
    const sids = await this.list(username);
    // One key per command: a Redis Cluster spreads sessions over slots; ioredis pipelines them.
    const found = await Promise.all(sids.map(async (sid) => ({ sid, raw: await this.redis.get(this.keys.session(sid)), ttl: await this.redis.pttl(this.keys.session(sid)) })));
    const out: SessionSummary[] = [];
    for (const { sid, raw, ttl } of found) {
      const data = raw === null ? undefined : (JSON.parse(raw) as SessionData);
      const state = stateOf(data, now);
      if (!data || state.level !== 'signed-in' || state.user.username !== username || ttl <= 0) {
        await this.remove(username, sid);
        continue;
      }
      const idleMs = data.rememberMs ?? idleTimeoutMs;
      out.push({
        sid,
        username,
        createdAt: state.createdAt,
        lastSeenAt: Math.max(state.createdAt, now - (idleMs - ttl)),
        ...(data.ip ? { ip: data.ip } : {}),
        ...(data.userAgent ? { userAgent: data.userAgent } : {}),
        remembered: data.rememberMs !== undefined,
      });
    }
    return out.sort((a, b) => b.lastSeenAt - a.lastSeenAt);
  }

  /** Ends every session of one person; returns their ids. */
  async revokeAll(username: string): Promise<string[]> {
    const sids = await this.list(username);
    await this.endSessions(sids);
    // Only the ids listed: a sign-in between the list and now stays findable (a DEL of the set would drop it).
    if (sids.length > 0) await this.redis.srem(this.key(username), ...sids);
    return sids;
  }

  /** Ends some sessions of one person (only ids of theirs, from the account page); returns those that were ended. */
  async revokeSome(username: string, sids: readonly string[]): Promise<string[]> {
    const theirs = new Set(await this.list(username));
    const ended = sids.filter((sid) => theirs.has(sid));
    await this.endSessions(ended);
    await Promise.all(ended.map((sid) => this.remove(username, sid)));
    return ended;
  }

  /** Deletes the sessions and their Paperless sessions, and announces each end to every replica. */
  private async endSessions(sids: readonly string[]): Promise<void> {
    // One key per command: a Redis Cluster refuses multi-key commands across slots.
    await Promise.all(sids.flatMap((sid) => [this.redis.del(this.keys.session(sid)), this.redis.del(this.keys.paperlessSession(sid))]));
    for (const sid of sids) await this.redis.publish(this.keys.sessionEnded, sid);
  }
}
