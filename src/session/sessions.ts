import type { ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import type { Request, RequestHandler } from 'express';
import session, { type SessionData } from 'express-session';
import type { RedisClient as Redis } from '../redis/client.js';
import { unsign } from 'cookie-signature';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { DirectoryUser } from '../directory/directory.js';
import { redisCall, RedisUnavailableError } from '../redis/errors.js';
import type { RedisKeys } from '../redis/keys.js';
import { systemClock, type Clock } from '../clock.js';
import { sessionUserFrom, type PendingSignIn, type SessionUser } from './session-data.js';
import { passwordProven, signedIn, stateOf, type Proof, type SignInState } from './sign-in-state.js';
import { UserSessionIndex, type SessionSummary } from './user-index.js';
import { SessionCache, type CachedSession } from './session-cache.js';
import { CookieValues } from './cookie-values.js';
import { SessionRecords } from './session-records.js';

/**
 * How long a cached session is used before Redis is asked again. Revocations
 * also arrive on the pub/sub channel at once; this bounds the delay when an
 * announcement is lost (a replica reconnecting, a key deleted by hand).
 */
export const SESSION_CACHE_MS = 1000;

export interface LoadedSession {
  sid: string;
  user: SessionUser;
  createdAt: number;
  /** When the directory last confirmed this user (see DirectoryRecheck). */
  checkedAt: number;
  /** Epoch ms at which the session ends however active it is (absolute lifetime, or "remember me"). */
  endsAt: number;
  /** How long this session may go unused. */
  idleMs: number;
  /** Paperless's `sessionid` for this session (the server-side jar); it never reaches the browser. */
  paperlessSession?: string;
}

type RevokedListener = (sid: string) => void;

/**
 * Gateway sessions: express-session on Redis for the browser side, plus what
 * express-session lacks: an absolute lifetime, a per-user index, and a
 * cross-replica "this session ended" signal (Redis pub/sub) for websockets.
 */
export class SessionService {
  readonly middleware: RequestHandler;
  private readonly records: SessionRecords;
  private readonly index: UserSessionIndex;
  private readonly channel: string;
  private readonly passwordChannel: string;
  private readonly listeners: RevokedListener[] = [];
  private readonly passwordListeners: Array<(username: string | undefined) => void> = [];
  private readonly cache = new SessionCache();
  private readonly cookies: CookieValues;
  /** Reads under way, by cookie: the requests that find a session stale together share one. */
  private readonly fetching = new Map<string, Promise<CachedSession | undefined>>();
  /** The idle expiry is pushed forward at most this often per session and process, not on every request. */
  private readonly touchIntervalMs: number;
  private sweepTimer?: NodeJS.Timeout;

  constructor(
    private readonly config: Config['session'],
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    this.cookies = new CookieValues(config.cookieName);
    this.records = new SessionRecords(redis, keys, (data) => this.storeTtlMs(data, this.clock.now()));
    const cookie = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: config.secureCookie };
    this.index = new UserSessionIndex(redis, keys);
    this.channel = keys.sessionEnded;
    this.passwordChannel = keys.passwordChanged;
    this.touchIntervalMs = Math.min(60_000, Math.floor(config.idleTimeoutMs / 10));
    const inner = session({
      name: config.cookieName,
      secret: config.secret,
      store: this.records.store,
      resave: false,
      saveUninitialized: false,
      rolling: true,
      // 'keep': a request whose session failed to load must not delete it on the way out.
      unset: 'keep',
      // No maxAge: a browser-session cookie, gone when the browser closes. The idle timeout is
      // the record's TTL in Redis; "remember me" gives the cookie a fixed end (establish).
      cookie,
    });
    // A store error is an outage, and must read as one (503), not as a generic failure.
    this.middleware = (req, res, next) => {
      // The public URL, not the hop that reached us, says whether the browser is on https; without
      // this, express-session silently drops a Secure cookie behind a TLS-terminating proxy.
      if (config.secureCookie) Object.defineProperty(req, 'secure', { value: true, configurable: true });
      inner(req, res, (err?: unknown) => {
        if (err) {
          next(new RedisUnavailableError('sessions', `session store: ${String(err)}`, { cause: err }));
          return;
        }
        keepRememberedEnd(req.session, this.clock.now());
        next();
      });
    };
  }

  /**
   * The signed-in session behind a Cookie header, for proxied requests and
   * websockets: express-session is not involved. One Redis read per session
   * per second at most (see SESSION_CACHE_MS); with `res` (an HTTP request, which is use), the
   * idle expiry is pushed forward at most once per touch interval.
   */
  lookup(cookieHeader: string | undefined, res?: ServerResponse): LoadedSession | undefined | Promise<LoadedSession | undefined> {
    const raw = this.cookieValue(cookieHeader);
    if (!raw) return undefined;
    const now = this.clock.now();
    const entry = this.cache.get(raw);
    // A fresh cache hit answers synchronously: no promise, no extra tick on the hot path.
    if (entry && now - entry.fetchedAt < SESSION_CACHE_MS) return this.use(entry, raw, now, res);
    let pending = this.fetching.get(raw);
    if (!pending) {
      pending = this.fetch(raw, now, entry?.touchedAt ?? 0).finally(() => this.fetching.delete(raw));
      this.fetching.set(raw, pending);
    }
    return pending.then((fresh) => (fresh ? this.use(fresh, raw, now, res) : undefined));
  }

  private use(entry: CachedSession, raw: string, now: number, res: ServerResponse | undefined): LoadedSession | undefined {
    if (now > entry.session.endsAt) {
      this.cache.dropSid(entry.session.sid);
      return undefined;
    }
    if (res && now - entry.touchedAt >= this.touchIntervalMs) this.touch(entry, now);
    return entry.session;
  }

  /** The session id a Cookie header carries, when its signature is valid. */
  sidFromCookieHeader(cookieHeader: string | undefined): string | undefined {
    const raw = this.cookieValue(cookieHeader);
    return raw ? this.unsign(raw) : undefined;
  }

  private cookieValue(cookieHeader: string | undefined): string | undefined {
    const raw = this.cookies.of(cookieHeader);
    return raw?.startsWith('s:') ? raw : undefined;
  }

  private unsign(raw: string): string | undefined {
    const sid = unsign(raw.slice(2), this.config.secret);
    return sid === false ? undefined : sid;
  }

  private async fetch(raw: string, now: number, touchedAt: number): Promise<CachedSession | undefined> {
    const sid = this.unsign(raw);
    if (!sid) return undefined;
    const [data, paperlessSession] = await Promise.all([this.read(sid), this.paperlessSessionOf(sid)]);
    const state = stateOf(data, now);
    if (!data || state.level !== 'signed-in') {
      this.cache.dropSid(sid);
      return undefined;
    }
    const entry: CachedSession = {
      session: {
        sid,
        user: state.user,
        createdAt: state.createdAt,
        checkedAt: data.checkedAt ?? state.createdAt,
        // A remembered session lasts its remember-me duration, used or not; others the configured idle and lifetime.
        endsAt: state.createdAt + (data.rememberMs ?? this.config.maxLifetimeMs),
        idleMs: data.rememberMs ?? this.config.idleTimeoutMs,
        ...(paperlessSession ? { paperlessSession } : {}),
      },
      data,
      fetchedAt: now,
      touchedAt,
    };
    this.cache.set(raw, entry);
    return entry;
  }

  private read(sid: string): Promise<SessionData | null | undefined> {
    return redisCall('sessions', 'cannot read session', () => this.records.read(sid));
  }

  /** Paperless's session id for a gateway session id (lookups, and logout to end Paperless's session). */
  paperlessSessionOf(sid: string): Promise<string | null> {
    return redisCall('sessions', 'cannot read session', () => this.redis.get(this.keys.paperlessSession(sid)));
  }

  /**
   * Keeps (or forgets) the Paperless session Paperless just set for this gateway session. The
   * cached copy changes at once, so this process's next request carries it; Redis, for the other
   * replicas, follows. It lives as long as the gateway session can.
   */
  async setPaperlessSession(session: LoadedSession, value: string | undefined): Promise<void> {
    const key = this.keys.paperlessSession(session.sid);
    const cached = this.cache.entryForSid(session.sid)?.session;
    if (value === undefined) {
      delete session.paperlessSession;
      if (cached) delete cached.paperlessSession;
      await redisCall('sessions', 'cannot update session', () => this.redis.del(key));
      return;
    }
    session.paperlessSession = value;
    if (cached) cached.paperlessSession = value;
    const ttl = Math.max(1000, session.endsAt - this.clock.now());
    await redisCall('sessions', 'cannot update session', () => this.redis.set(key, value, 'PX', ttl));
  }

  /**
   * Use pushes the idle expiry forward, once per touch interval: only the record's TTL, never
   * past the session's end. The cookie needs nothing: it either ends with the browser or has the
   * fixed end "remember me" gave it.
   */
  private touch(entry: CachedSession, now: number): void {
    entry.touchedAt = now;
    const { sid, user, idleMs, endsAt } = entry.session;
    const ttl = Math.max(1000, Math.min(idleMs, endsAt - now));
    this.records.extend(sid, ttl).catch((err: Error) => this.log.warn({ err: err.message }, 'cannot extend session'));
    // A session in use must stay findable until its end: an index lost or cut short heals here.
    this.index.add(user.username, sid, endsAt - now).catch((err: Error) => this.log.warn({ err: err.message }, 'cannot renew the session index'));
  }

  /** How long a record lives from `now`: the idle timeout, or a remembered session's remaining time. */
  private storeTtlMs(data: SessionData, now: number): number {
    const left = rememberedTimeLeft(data, now);
    if (left !== undefined) return Math.max(1000, left);
    return this.config.idleTimeoutMs;
  }

  /**
   * How far this browser's sign-in has come, read as the request path reads it (stateOf). The
   * sign-in pages ask here, never the record's fields.
   */
  state(req: Request): SignInState {
    return stateOf(req.session as Partial<SessionData> | undefined, this.clock.now());
  }

  /**
   * Starts a fresh session for a user who just proved who they are (a new id: no fixation).
   * `rememberMs`: "remember me" was ticked; the session then lasts that long, used or not.
   */
  async establish(req: Request, user: DirectoryUser, proof: Proof, rememberMs?: number): Promise<void> {
    await redisCall('sessions', 'cannot create session', async () => {
      await promisify(req.session.regenerate.bind(req.session))();
      if (rememberMs !== undefined) req.session.cookie.maxAge = rememberMs;
      signedIn(req.session, { user: sessionUserFrom(user), now: this.clock.now(), proof, rememberMs, ip: req.ip, userAgent: req.get('user-agent') });
      await promisify(req.session.save.bind(req.session))();
      await this.index.add(user.username, req.sessionID, rememberMs ?? this.config.maxLifetimeMs);
    });
  }

  /**
   * Starts a fresh session (a new id) that holds a half-done sign-in: the password is proven,
   * the second step is not. It has no user, so nothing is forwarded as anyone with it.
   */
  async beginSecondStep(req: Request, pending: Omit<PendingSignIn, 'startedAt'>): Promise<void> {
    await redisCall('sessions', 'cannot create session', async () => {
      await promisify(req.session.regenerate.bind(req.session))();
      passwordProven(req.session, { ...pending, startedAt: this.clock.now() });
      await promisify(req.session.save.bind(req.session))();
    });
  }

  /** Ends the request's session everywhere: store, index, and every replica's websockets. */
  async end(req: Request): Promise<void> {
    const sid = req.sessionID;
    const username = (req.session as Partial<SessionData> | undefined)?.user?.username;
    await redisCall('sessions', 'cannot end session', async () => {
      await promisify(req.session.destroy.bind(req.session))();
      await this.redis.del(this.keys.paperlessSession(sid));
      if (username) await this.index.remove(username, sid);
    });
    await this.announceEnded([sid]);
  }

  /**
   * Records a fresh confirmation from the directory (and the user's current
   * details). Written only if the session still exists: a logout elsewhere in
   * the meantime must not be undone.
   */
  async confirm(session: LoadedSession, user: DirectoryUser): Promise<void> {
    const entry = this.cache.entryForSid(session.sid);
    const data = entry?.data ?? (await this.read(session.sid));
    if (!data) return;
    const now = this.clock.now();
    const updated: SessionData = { ...data, user: sessionUserFrom(user), checkedAt: now };
    const ttl = this.storeTtlMs(updated, now);
    await redisCall('sessions', 'cannot update session', () => this.records.replaceIfPresent(session.sid, updated, ttl));
    if (entry) {
      entry.data = updated;
      entry.session = { ...entry.session, user: updated.user, checkedAt: now };
    }
  }

  /** Every live session of one person (see UserSessionIndex). */
  list(username: string): Promise<SessionSummary[]> {
    return redisCall('sessions', 'cannot list sessions', () => this.index.summaries(username, this.config.idleTimeoutMs, this.clock.now()));
  }

  /** Ends these sessions of one person (ids that are not theirs are ignored); returns how many ended. */
  async revoke(username: string, sids: readonly string[]): Promise<number> {
    const ended = await redisCall('sessions', 'cannot revoke sessions', () => this.index.revokeSome(username, sids));
    for (const sid of ended) this.ended(sid);
    this.log.info({ event: 'session.revoked', username, sessions: ended.length, by: 'owner' }, 'sessions revoked');
    return ended.length;
  }

  /** Revokes every session of one user; returns how many there were. */
  async revokeUser(username: string): Promise<number> {
    const sids = await redisCall('sessions', 'cannot revoke sessions', () => this.index.revokeAll(username));
    // Local sockets close at once; other replicas hear it on the channel.
    for (const sid of sids) this.ended(sid);
    this.log.info({ event: 'session.revoked', username, sessions: sids.length }, 'sessions revoked');
    return sids.length;
  }

  /** Which of these session ids still exist in the store. */
  async alive(sids: string[]): Promise<Set<string>> {
    return this.records.existing(sids);
  }

  onEnded(listener: RevokedListener): void {
    this.listeners.push(listener);
  }

  /**
   * Called in every thread and replica when a person's password changed through the gateway; with
   * `undefined` whenever the channel (re)connects, as a message sent while it was down is lost.
   */
  onPasswordChanged(listener: (username: string | undefined) => void): void {
    this.passwordListeners.push(listener);
  }

  /**
   * Tells every thread and replica that this person's password changed, so a Basic check of the
   * old one stops working everywhere at once (Redis pub/sub, as session ends). This process hears
   * it at once; others when the message arrives (a lost one: the cache's TTL bounds it).
   */
  async announcePasswordChanged(username: string): Promise<void> {
    this.passwordChanged(username);
    await this.redis.publish(this.passwordChannel, username).catch((err: Error) => this.log.warn({ err: err.message, username }, 'cannot announce a password change; other replicas forget the old password when their Basic cache expires'));
  }

  /** Tells this thread's password listeners; `undefined`: anyone's, as announcements may have been lost. */
  private passwordChanged(username: string | undefined): void {
    for (const listener of this.passwordListeners) listener(username);
  }

  /** Stops this process using a session at once: cache entry dropped, listeners (websockets) told. */
  private ended(sid: string): void {
    this.cache.dropSid(sid);
    for (const listener of this.listeners) listener(sid);
  }

  /** Starts what runs in the background: the cache sweep and the session-ended subscription. */
  start(): void {
    if (this.sweepTimer) return;
    this.sweepTimer = setInterval(() => this.cache.sweep(this.clock.now() - this.touchIntervalMs - SESSION_CACHE_MS), Math.max(1000, this.touchIntervalMs));
    this.sweepTimer.unref();
    // Subscribe on every (re)connect: the client fails fast while Redis is away, so nothing is queued,
    // and what was announced meanwhile is lost: password listeners hear that they may have missed some.
    const subscribe = () =>
      void this.subscriber
        .subscribe(this.channel, this.passwordChannel)
        .catch((err: Error) => this.log.error({ err: err.message }, 'cannot subscribe to the session-ended and password-changed channels'))
        // Once subscribed (or not), so nothing announced from here on is missed as well.
        .finally(() => this.passwordChanged(undefined));
    this.subscriber.on('ready', subscribe);
    if (this.subscriber.status === 'ready') subscribe();
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.ended(message);
      else if (channel === this.passwordChannel) this.passwordChanged(message);
    });
  }

  close(): void {
    clearInterval(this.sweepTimer);
  }

  private async announceEnded(sids: string[]): Promise<void> {
    for (const sid of sids) {
      this.ended(sid);
      await this.redis.publish(this.channel, sid).catch((err: Error) => this.log.warn({ err: err.message }, 'cannot announce session end'));
    }
  }
}

/**
 * express-session re-sends the cookie with Expires = now + originalMaxAge on each response it
 * handles; a remembered session's cookie must keep the end it got at sign-in, so its
 * originalMaxAge becomes the time left.
 */
function keepRememberedEnd(session: Partial<SessionData> & { cookie?: { originalMaxAge: number | null } }, now: number): void {
  const left = rememberedTimeLeft(session, now);
  if (session.cookie && left !== undefined) session.cookie.originalMaxAge = Math.max(0, left);
}

/** How long a remembered session has left (it lasts its remember-me duration from sign-in); undefined for others. */
function rememberedTimeLeft(data: Partial<SessionData>, now: number): number | undefined {
  if (data.rememberMs === undefined || typeof data.createdAt !== 'number') return undefined;
  return data.createdAt + data.rememberMs - now;
}
