import { promisify } from 'node:util';
import type { Request, RequestHandler } from 'express';
import session, { type SessionData } from 'express-session';
import { RedisStore } from 'connect-redis';
import type { RedisClient as Redis } from './redis.js';
import { parse as parseCookies } from 'cookie';
import { unsign } from 'cookie-signature';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { DirectoryUser } from '../directory/directory.js';
import { SessionStoreUnavailableError, storeCall } from './errors.js';
import { sessionUserFrom, type SessionUser } from './session-data.js';
import { revokeUserSessions, sessionKeys } from './revoke.js';
import { UserSessionIndex } from './user-index.js';

export interface LoadedSession {
  sid: string;
  user: SessionUser;
  createdAt: number;
  /** When the directory last confirmed this user (see DirectoryRecheck). */
  checkedAt: number;
}

type RevokedListener = (sid: string) => void;

/**
 * Gateway sessions: express-session on Redis for the browser side, plus what
 * express-session lacks: an absolute lifetime, a per-user index, and a
 * cross-replica "this session ended" signal (Redis pub/sub) for websockets.
 */
export class SessionService {
  readonly middleware: RequestHandler;
  private readonly store: RedisStore;
  private readonly index: UserSessionIndex;
  private readonly channel: string;
  private readonly listeners: RevokedListener[] = [];
  private readonly sessionPrefix: string;

  constructor(
    private readonly config: Config['session'],
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly keyPrefix: string,
    private readonly log: Logger,
  ) {
    this.sessionPrefix = sessionKeys(keyPrefix).session('');
    this.store = new RedisStore({ client: redis, prefix: this.sessionPrefix });
    this.index = new UserSessionIndex(redis, keyPrefix, config.maxLifetimeMs);
    this.channel = sessionKeys(keyPrefix).endedChannel;
    const inner = session({
      name: config.cookieName,
      secret: config.secret,
      store: this.store,
      resave: false,
      saveUninitialized: false,
      rolling: true,
      // 'keep': a request whose session failed to load must not delete it on the way out.
      unset: 'keep',
      cookie: { httpOnly: true, sameSite: 'lax', secure: config.secureCookie, maxAge: config.idleTimeoutMs, path: '/' },
    });
    // A store error is an outage, and must read as one (503), not as a generic failure.
    this.middleware = (req, res, next) => {
      // The public URL, not the hop that reached us, says whether the browser is on https; without
      // this, express-session silently drops a Secure cookie behind a TLS-terminating proxy.
      if (config.secureCookie) Object.defineProperty(req, 'secure', { value: true, configurable: true });
      inner(req, res, (err?: unknown) => next(err ? new SessionStoreUnavailableError(`session store: ${String(err)}`, { cause: err }) : undefined));
    };
    // Subscribe on every (re)connect: the client fails fast while Redis is away, so nothing is queued.
    const subscribe = () => void this.subscriber.subscribe(this.channel).catch((err: Error) => log.error({ err: err.message }, 'cannot subscribe to session-ended channel'));
    this.subscriber.on('ready', subscribe);
    if (this.subscriber.status === 'ready') subscribe();
    this.subscriber.on('message', (channel: string, sid: string) => {
      if (channel !== this.channel) return;
      for (const listener of this.listeners) listener(sid);
    });
  }

  /** The logged-in session of an express request, or undefined (absolute lifetime enforced). */
  async current(req: Request): Promise<LoadedSession | undefined> {
    const s = req.session as (typeof req.session & Partial<SessionData>) | undefined;
    // express-session skips loading entirely when its store reports a disconnect; that is an outage, not a logout.
    if (!s) throw new SessionStoreUnavailableError('session middleware ran without a store');
    if (!s.user || typeof s.createdAt !== 'number') return undefined;
    if (this.expired(s.createdAt)) {
      await this.end(req);
      return undefined;
    }
    return { sid: req.sessionID, user: s.user, createdAt: s.createdAt, checkedAt: s.checkedAt ?? s.createdAt };
  }

  /** Reads the session behind a raw Cookie header (websocket upgrades never pass through express). */
  async fromCookieHeader(cookieHeader: string | undefined): Promise<LoadedSession | undefined> {
    const sid = this.sidFromCookieHeader(cookieHeader);
    if (!sid) return undefined;
    const data = await storeCall(
      'cannot read session',
      () =>
        new Promise<SessionData | null | undefined>((resolve, reject) =>
          this.store.get(sid, (err, value) => (err ? reject(err) : resolve(value as SessionData | null | undefined))),
        ),
    );
    if (!data?.user || typeof data.createdAt !== 'number' || this.expired(data.createdAt)) return undefined;
    return { sid, user: data.user, createdAt: data.createdAt, checkedAt: data.checkedAt ?? data.createdAt };
  }

  sidFromCookieHeader(cookieHeader: string | undefined): string | undefined {
    if (!cookieHeader) return undefined;
    const raw = parseCookies(cookieHeader)[this.config.cookieName];
    if (!raw?.startsWith('s:')) return undefined;
    const sid = unsign(raw.slice(2), this.config.secret);
    return sid === false ? undefined : sid;
  }

  /** Starts a fresh session for a user who just proved who they are (a new id: no fixation). */
  async establish(req: Request, user: DirectoryUser): Promise<void> {
    await storeCall('cannot create session', async () => {
      await promisify(req.session.regenerate.bind(req.session))();
      req.session.user = sessionUserFrom(user);
      req.session.createdAt = Date.now();
      req.session.checkedAt = req.session.createdAt;
      await promisify(req.session.save.bind(req.session))();
      await this.index.add(user.username, req.sessionID);
    });
  }

  /** Ends the request's session everywhere: store, index, and every replica's websockets. */
  async end(req: Request): Promise<void> {
    const sid = req.sessionID;
    const username = (req.session as Partial<SessionData> | undefined)?.user?.username;
    await storeCall('cannot end session', async () => {
      await promisify(req.session.destroy.bind(req.session))();
      if (username) await this.index.remove(username, sid);
    });
    await this.announceEnded([sid]);
  }

  /** Records a fresh confirmation from the directory (and the user's current details) in the request's session. */
  confirm(req: Request, user: DirectoryUser): void {
    req.session.user = sessionUserFrom(user);
    req.session.checkedAt = Date.now();
  }

  /** Revokes every session of one user; returns how many there were. */
  async revokeUser(username: string): Promise<number> {
    const sids = await storeCall('cannot revoke sessions', () => revokeUserSessions(this.redis, this.keyPrefix, this.config.maxLifetimeMs, username));
    // Local sockets close at once; other replicas hear it on the channel.
    for (const sid of sids) for (const listener of this.listeners) listener(sid);
    this.log.info({ event: 'session.revoked', username, sessions: sids.length }, 'sessions revoked');
    return sids.length;
  }

  /** Which of these session ids still exist in the store. */
  async alive(sids: string[]): Promise<Set<string>> {
    // One key per command (a Cluster spreads sessions over slots); ioredis sends them together.
    const found = await Promise.all(sids.map((sid) => this.redis.exists(this.sessionPrefix + sid)));
    return new Set(sids.filter((_, i) => found[i] === 1));
  }

  expired(createdAt: number): boolean {
    return Date.now() - createdAt > this.config.maxLifetimeMs;
  }

  onEnded(listener: RevokedListener): void {
    this.listeners.push(listener);
  }

  private async announceEnded(sids: string[]): Promise<void> {
    for (const sid of sids) {
      for (const listener of this.listeners) listener(sid);
      await this.redis.publish(this.channel, sid).catch((err: Error) => this.log.warn({ err: err.message }, 'cannot announce session end'));
    }
  }
}
