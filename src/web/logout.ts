import express, { type RequestHandler, type Router } from 'express';
import { parse as parseCookies } from 'cookie';
import type { Logger } from 'pino';
import type { SessionService } from '../session/sessions.js';
import { fromOwnPage } from '../proxy/request-origin.js';
import { logoutKind } from './logout-paths.js';
import type { Pages } from './pages.js';
import { setKerberosOptOut } from './kerberos-sign-in.js';

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
  publicUrl: URL;
  /** GATEWAY_KERBEROS: signing out opts the browser out of it, or its next request would sign the person straight back in. */
  kerberos?: boolean;
  pages: Pages;
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
    const state = deps.sessions.state(req);
    const username = state.level === 'signed-in' ? state.user.username : undefined;
    try {
      if (username) {
        // Paperless's session lives in the gateway session's jar: take it before the session goes.
        res.locals.paperlessSession = await deps.sessions.paperlessSessionOf(req.sessionID);
        await deps.sessions.end(req);
      } else if (req.session?.pending || req.session?.level || req.session?.user) {
        // A half-done sign-in (password proven, second step not), fresh or stale: "Cancel" must end
        // it, or the session middleware would renew its cookie on the way out and keep it alive.
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
    if (deps.kerberos) setKerberosOptOut(res, true, deps.secureCookie);
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

  /**
   * A link on another site (or an address typed or bookmarked) must not sign anyone out: without
   * evidence that one of our own pages asked, the person confirms with a POST from ours.
   */
  const confirmUnlessOwnPage: RequestHandler = (req, res, next) => {
    if (fromOwnPage(req.headers, deps.publicUrl)) {
      next();
      return;
    }
    deps.log.info({ event: 'logout.confirm', path: req.path, method: req.method, ip: req.ip }, 'logout without evidence of our own page: asked to confirm');
    deps.pages.render(req, res, 200, 'logout-confirm.njk', {});
  };

  const ending = [endGatewaySession, endPaperlessSession, expireCookies];
  const browserLogout = express.Router().use(confirmUnlessOwnPage, ...ending, showSignedOut);
  // A headless DELETE cannot be sent cross-site without a CORS preflight Paperless refuses.
  const headlessLogout = express.Router().use(...ending, endAppSession, answerHeadless);
  // Every logout Paperless would honour, on the path as Django routes it (logout-paths.ts): each
  // ends only Paperless's session there; here it ends both.
  router.use((req, res, next) => {
    const kind = logoutKind(req.method, req.path);
    if (kind === undefined) next();
    else if (kind === 'headless') headlessLogout(req, res, next);
    else browserLogout(req, res, next);
  });
  return router;
}
