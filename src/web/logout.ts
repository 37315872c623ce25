import express, { type RequestHandler, type Router } from 'express';
import { parse as parseCookies } from 'cookie';
import type { Logger } from 'pino';
import type { SessionService } from '../session/sessions.js';

/** allauth's headless session endpoints (Paperless 3.x): DELETE there is a logout. */
export const HEADLESS_LOGOUTS = ['/api/auth/headless/browser/v1/auth/session', '/api/auth/headless/app/v1/auth/session'];

/** What allauth's headless API answers once nobody is signed in: the client's own logout code expects it. */
const HEADLESS_SIGNED_OUT = { status: 401, data: { flows: [{ id: 'login' }] }, meta: { is_authenticated: false } };

export interface LogoutDeps {
  sessions: SessionService;
  /** Ends the Paperless session of these cookies; resolves even when Paperless is down. */
  endPaperlessSession: (cookieHeader: string, host: string | undefined) => Promise<void>;
  /** Ends a headless app session of Paperless's (X-Session-Token); resolves even when Paperless is down. */
  endPaperlessAppSession: (sessionToken: string) => Promise<void>;
  paperlessCookiePrefix: string;
  gatewayCookieName: string;
  secureCookie: boolean;
  log: Logger;
}

/**
 * A logout that really logs out: Paperless's session is persistent, so
 * destroying only the gateway's would leave the browser signed in upstream.
 */
export function logoutRouter(deps: LogoutDeps): Router {
  const router = express.Router();
  const sessionid = `${deps.paperlessCookiePrefix}sessionid`;
  const csrftoken = `${deps.paperlessCookiePrefix}csrftoken`;

  const endGatewaySession: RequestHandler = async (req, res, next) => {
    const username = req.session?.user?.username;
    try {
      if (username) {
        // Paperless's session lives in the gateway session's jar: take it before the session goes.
        res.locals.paperlessSession = await deps.sessions.paperlessSessionOf(req.sessionID);
        await deps.sessions.end(req);
      } else if (req.session?.pending) {
        // A half-done sign-in (password proven, second step not): "Cancel" must end it, or the
        // session middleware would renew its cookie on the way out and keep it alive.
        await deps.sessions.end(req);
      }
      res.locals.username = username;
      next();
    } catch (err) {
      next(err);
    }
  };

  const endPaperlessSession: RequestHandler = async (req, res, next) => {
    const cookies = parseCookies(req.headers.cookie ?? '');
    const csrf = cookies[csrftoken] === undefined ? [] : [`${csrftoken}=${cookies[csrftoken]}`];
    // The jar's session, and one a browser may still hold from before the jar existed.
    const held = [res.locals.paperlessSession as string | null | undefined, cookies[sessionid]].filter((v): v is string => Boolean(v));
    for (const value of new Set(held)) await deps.endPaperlessSession([`${sessionid}=${value}`, ...csrf].join('; '), req.headers.host);
    next();
  };

  const expireCookies: RequestHandler = (_req, res, next) => {
    const options = { path: '/', secure: deps.secureCookie, sameSite: 'lax' as const };
    res.clearCookie(sessionid, { ...options, httpOnly: true });
    res.clearCookie(csrftoken, options);
    res.clearCookie(deps.gatewayCookieName, { ...options, httpOnly: true });
    next();
  };

  const showSignedOut: RequestHandler = (req, res) => {
    if (res.locals.username) deps.log.info({ event: 'logout', username: res.locals.username, ip: req.ip }, 'logged out');
    res.redirect(303, '/accounts/login/?loggedout=1');
  };

  // An app signed in to allauth's headless API holds a session token instead of cookies.
  const endAppSession: RequestHandler = async (req, _res, next) => {
    const token = req.headers['x-session-token'];
    if (typeof token === 'string' && token !== '') await deps.endPaperlessAppSession(token);
    next();
  };

  const answerHeadless: RequestHandler = (req, res) => {
    if (res.locals.username) deps.log.info({ event: 'logout', username: res.locals.username, ip: req.ip, via: 'headless' }, 'logged out');
    res.status(401).json(HEADLESS_SIGNED_OUT);
  };

  const ending = [endGatewaySession, endPaperlessSession, expireCookies];
  router.all('/accounts/logout/', ...ending, showSignedOut);
  // Django admin's and the browsable API's "Log out" end only Paperless's session; here they end both.
  router.post(['/admin/logout/', '/api/auth/logout/'], ...ending, showSignedOut);
  router.delete(HEADLESS_LOGOUTS, ...ending, endAppSession, answerHeadless);
  return router;
}
