/**
 * Paperless's authentication shell: PersistentRemoteUserMiddleware with auto-create, DRF's
 * authentication classes in Paperless's order, and Django's CSRF rule for session requests.
 */
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { authorizationParts, isApi, metaValue } from './django-parsing.js';
import { HttpError } from './http.js';
import type { Settings } from './options.js';
import type { SimStore, SimUser } from './store.js';

export interface Auth {
  user?: SimUser;
  /** How the request authenticated: DRF skips CSRF for everything but session auth. */
  via?: 'session' | 'token' | 'remote-user';
  setCookies: string[];
}

export class DjangoAuth {
  constructor(
    private readonly store: SimStore,
    private readonly settings: Settings,
  ) {}

  cookie(name: string): string {
    return `${this.settings.cookiePrefix}${name}`;
  }

  remoteUser(req: http.IncomingMessage): string | undefined {
    return metaValue(req.rawHeaders, this.settings.remoteUserKey);
  }

  /** The Set-Cookie that ends the session (Django's logout). */
  clearSession(): string {
    return `${this.cookie('sessionid')}=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/`;
  }

  authenticate(req: http.IncomingMessage, path: string, cookies: Record<string, string | undefined>): Auth {
    const auth: Auth = { setCookies: [] };
    const sessionId = cookies[this.cookie('sessionid')];
    const sessionUser = this.store.sessionUser(sessionId);
    if (sessionUser) {
      auth.user = sessionUser;
      auth.via = 'session';
    }
    const api = isApi(path);
    const pageHeaderLogin = this.settings.enableRemoteUser && this.settings.auditLogEnabled;
    if ((!api && pageHeaderLogin) || (api && this.settings.enableRemoteUserApi)) {
      this.remoteUserMiddleware(req, sessionId, auth);
    }
    if (!api) return auth;
    // DRF tries Paperless's classes in order (the header class first in API mode, then
    // session, Basic, token) and the first that recognises the request wins.
    if (auth.via === 'remote-user' || auth.via === 'session') return auth;
    const parts = authorizationParts(req.headers.authorization);
    const scheme = parts[0]?.toLowerCase();
    if (scheme === 'basic' || scheme === 'token') {
      // DRF answers 403, not 401: Paperless lists SessionAuthentication first, which has no WWW-Authenticate.
      if (parts.length === 1) throw new HttpError(403, { detail: `Invalid ${scheme} header. No credentials provided.` });
      if (parts.length > 2) throw new HttpError(403, { detail: scheme === 'token' ? 'Invalid token header. Token string should not contain spaces.' : 'Invalid basic header. Credentials string should not contain spaces.' });
      auth.user = scheme === 'token' ? this.userByToken(parts[1] as string) : this.userByBasic(parts[1] as string);
      auth.via = 'token';
    }
    return auth;
  }

  /** Django's CSRF check, for unsafe requests authenticated by the session. */
  checkCsrf(req: http.IncomingMessage, cookies: Record<string, string | undefined>): void {
    const secure = this.settings.trustForwardedProto && req.headers['x-forwarded-proto'] === 'https';
    // Django compares against Host (PAPERLESS_USE_X_FORWARD_HOST is off by default).
    const expectedOrigin = `${secure ? 'https' : 'http'}://${req.headers.host}`;
    const origin = req.headers.origin;
    const trusted = [expectedOrigin, ...(this.settings.paperlessUrl ? [new URL(this.settings.paperlessUrl).origin] : [])];
    if (origin !== undefined) {
      if (!trusted.includes(origin)) throw new HttpError(403, { detail: `CSRF Failed: Origin checking failed - ${origin} does not match any trusted origins.` });
    } else if (secure) {
      const referer = req.headers.referer;
      if (!referer || !trusted.includes(new URL(referer).origin)) throw new HttpError(403, { detail: 'CSRF Failed: Referer checking failed - no Referer.' });
    }
    const cookieToken = cookies[this.cookie('csrftoken')];
    if (!cookieToken) throw new HttpError(403, { detail: 'CSRF Failed: CSRF cookie not set.' });
    if (req.headers['x-csrftoken'] !== cookieToken) throw new HttpError(403, { detail: 'CSRF Failed: CSRF token incorrect.' });
  }

  /** PersistentRemoteUserMiddleware + RemoteUserBackend(create_unknown_user=True). */
  private remoteUserMiddleware(req: http.IncomingMessage, sessionId: string | undefined, auth: Auth): void {
    const header = this.remoteUser(req);
    if (header === undefined) return; // persistent: the session stays
    const session = sessionId ? this.store.sessions.get(sessionId) : undefined;
    const current = session ? this.store.userById(session.userId) : undefined;
    if (current && current.username === header) return;
    if (current && sessionId) this.store.sessions.delete(sessionId); // another user: log the old one out
    auth.user = undefined;
    if (header === '') return;
    const user = this.store.user(header) ?? this.store.addUser({ username: header });
    if (!user.is_active) return;
    const sid = this.store.newSession(user);
    auth.setCookies.push(`${this.cookie('sessionid')}=${sid}; HttpOnly; Max-Age=1814400; Path=/; SameSite=Lax`);
    auth.setCookies.push(`${this.cookie('csrftoken')}=${randomBytes(16).toString('hex')}; Max-Age=31449600; Path=/; SameSite=Lax`);
    auth.user = user;
    auth.via = 'remote-user';
  }

  private userByToken(key: string): SimUser {
    const user = this.store.userById(this.store.tokens.get(key));
    if (!user) throw new HttpError(403, { detail: 'Invalid token.' });
    if (!user.is_active) throw new HttpError(403, { detail: 'User inactive or deleted.' });
    return user;
  }

  /** DRF's BasicAuthentication: Paperless's local password. */
  private userByBasic(encoded: string): SimUser {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? undefined : this.store.user(decoded.slice(0, colon));
    if (!user || !user.password || user.password !== decoded.slice(colon + 1)) throw new HttpError(403, { detail: 'Invalid username/password.' });
    if (!user.is_active) throw new HttpError(403, { detail: 'User inactive or deleted.' });
    return user;
  }
}
