import type { SessionData } from 'express-session';
import type { LoadedSession } from './sessions.js';

export interface CachedSession {
  session: LoadedSession;
  /** The stored record, kept to write back a confirmation without reading it again. */
  data: SessionData;
  fetchedAt: number;
  /** When this process last pushed the idle expiry forward (store TTL and cookie). */
  touchedAt: number;
}

/**
 * An in-process copy of sessions, keyed by the signed cookie value (a hit
 * skips both the HMAC and Redis). The owner decides how old an entry may be
 * before it is read again; entries are dropped at once when any replica
 * announces the session's end, and swept once they are of no more use.
 */
export class SessionCache {
  private readonly byCookie = new Map<string, CachedSession>();
  private readonly cookieBySid = new Map<string, string>();

  constructor(private readonly maxEntries = 50_000) {}

  get(cookieValue: string): CachedSession | undefined {
    return this.byCookie.get(cookieValue);
  }

  set(cookieValue: string, entry: CachedSession): void {
    if (!this.byCookie.has(cookieValue) && this.byCookie.size >= this.maxEntries) this.evictOldest();
    this.byCookie.set(cookieValue, entry);
    this.cookieBySid.set(entry.session.sid, cookieValue);
  }

  dropSid(sid: string): void {
    const cookieValue = this.cookieBySid.get(sid);
    if (cookieValue !== undefined) this.delete(cookieValue);
  }

  entryForSid(sid: string): CachedSession | undefined {
    const cookieValue = this.cookieBySid.get(sid);
    return cookieValue === undefined ? undefined : this.byCookie.get(cookieValue);
  }

  /** Forgets entries fetched before `before` (epoch ms). */
  sweep(before: number): void {
    for (const [cookieValue, entry] of this.byCookie) if (entry.fetchedAt < before) this.delete(cookieValue);
  }

  get size(): number {
    return this.byCookie.size;
  }

  private delete(cookieValue: string): void {
    const entry = this.byCookie.get(cookieValue);
    this.byCookie.delete(cookieValue);
    if (entry && this.cookieBySid.get(entry.session.sid) === cookieValue) this.cookieBySid.delete(entry.session.sid);
  }

  private evictOldest(): void {
    // Maps iterate in insertion order: the first key is the oldest entry.
    const oldest = this.byCookie.keys().next();
    if (!oldest.done) this.delete(oldest.value);
  }
}
