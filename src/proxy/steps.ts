import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { DirectoryRecheck } from '../session/recheck.js';
import type { LoadedSession, SessionService } from '../session/sessions.js';
import { hasBody, type Decision, type Step } from './exchange.js';
import { readAndPutBack, type BodyTrouble } from './inspected-body.js';
import { passwordView, LOCAL_PASSWORD_REFUSED, USER_PASSWORD_REFUSED, localPasswordIn, PROFILE_BODY_LIMIT_BYTES, PROFILE_BODY_TIMEOUT_MS, UnreadableProfileChange } from './local-password.js';
import { paperlessSignInRoute } from './paperless-sign-in.js';
import { SAFE_METHODS, sourceOrigin } from './request-origin.js';
import { isShareLink } from './request-target.js';

export interface StepDeps {
  publicUrl: URL;
  sessions: SessionService;
  recheck: DirectoryRecheck;
  /** The client's address, as the trusted proxy hops report it. */
  ipOf: (req: IncomingMessage) => string;
  log: Logger;
}

/** A profile change that did not arrive as a small, whole body; the rest of it is not read, so the connection closes. */
function bodyRefusal(trouble: BodyTrouble): Decision {
  const detail =
    trouble === 'too-large'
      ? `A profile change is at most ${PROFILE_BODY_LIMIT_BYTES / 1024} KiB.`
      : trouble === 'too-slow'
        ? `The profile change did not arrive within ${PROFILE_BODY_TIMEOUT_MS / 1000} seconds. Please send it again.`
        : 'The profile change could not be read.';
  return { kind: 'refuse', status: 400, detail, headers: { Connection: 'close' } };
}

/** The deciding steps of the request path; each looks at the exchange and decides, or passes. */
export function createSteps(deps: StepDeps) {
  const { sessions, recheck, log } = deps;

  /** Public share links need no sign-in: exactly Paperless's share route, read-only, without a body. */
  /** Paperless's own local-password views (paperless-sign-in.ts): refused for everyone, in every spelling. */
  const noPaperlessSignIn: Step = ({ req, path }) => {
    const refused = paperlessSignInRoute(req.method, path);
    if (refused === undefined) return undefined;
    log.warn({ event: 'paperless_sign_in.refused', path, method: req.method, ip: deps.ipOf(req) }, "a request for Paperless's own sign-in refused");
    return { kind: 'refuse', status: 403, detail: refused };
  };

  const publicShares: Step = ({ req, path }) => {
    if (!isShareLink(path) || (req.method !== 'GET' && req.method !== 'HEAD')) return undefined;
    // A body nobody needs would hold an upstream socket for as long as a client trickles it.
    if (hasBody(req)) {
      return { kind: 'refuse', status: 400, detail: 'A share link is fetched without a request body.' };
    }
    return { kind: 'anonymous', reason: 'share' };
  };

  /** The signed-in session, if any, from the cookie: cached briefly, never through express-session. */
  const loadSession: Step = (exchange) => {
    const found = sessions.lookup(exchange.req.headers.cookie, exchange.to.kind === 'http' ? exchange.to.res : undefined);
    if (found instanceof Promise) {
      return found.then((session) => {
        if (session) exchange.session = session;
        return undefined;
      });
    }
    if (found) exchange.session = found;
    return undefined;
  };

  const requireLogin: Step = (exchange) => (exchange.session ? undefined : { kind: 'sign-in' });

  /**
   * No local Paperless password for the people the gateway signs in (see local-password.ts):
   * a profile change is read before it is forwarded (small, under a deadline, the same bytes
   * forwarded after), and refused when it sets a password. Every method: Paperless answers
   * PATCH today, and a body that would set a password has no business in any other. Requests
   * with neither a session nor credentials are left to the sign-in steps, unread.
   */
  const noLocalPasswords: Step = (exchange) => {
    const { req, path } = exchange;
    const view = hasBody(req) ? passwordView(path) : undefined;
    if (view === undefined) return undefined;
    if (!exchange.session && req.headers.authorization === undefined) return undefined;
    return readAndPutBack(req, PROFILE_BODY_LIMIT_BYTES, PROFILE_BODY_TIMEOUT_MS).then((body): Decision | undefined => {
      if (typeof body === 'string') return bodyRefusal(body);
      const verdict = localPasswordIn(req.headers['content-type'], body);
      if (verdict === 'keeps') return undefined;
      const username = exchange.session?.user.username;
      if (verdict instanceof UnreadableProfileChange) {
        log.warn({ event: 'profile.unreadable', path, username, ip: deps.ipOf(req), contentType: req.headers['content-type'] }, 'profile change the gateway cannot read refused');
        return { kind: 'refuse', status: 400, detail: verdict.reason };
      }
      log.warn({ event: 'profile.local_password_refused', path, username, ip: deps.ipOf(req) }, 'a local Paperless password refused');
      const reason = view === 'profile' ? LOCAL_PASSWORD_REFUSED : USER_PASSWORD_REFUSED;
      return { kind: 'refuse', status: 400, detail: reason, fields: { password: [reason] } };
    });
  };

  /**
   * Paperless skips its own CSRF check for requests authenticated by the header, so the gateway
   * checks the origin of every unsafe request and every websocket handshake that rides on its
   * session cookie (cross-site request forgery and cross-site websocket hijacking).
   */
  const checkOrigin: Step = (exchange) => {
    const { req, path } = exchange;
    const upgrade = exchange.to.kind === 'websocket';
    if (!upgrade && SAFE_METHODS.has(req.method ?? 'GET')) return undefined;
    const { origin, referer } = req.headers;
    const source = sourceOrigin(origin, referer);
    if (source === deps.publicUrl.origin) return undefined;
    // Browsers send Origin with every websocket handshake: one without is no page's, so no forgery.
    if (upgrade && source === undefined) return undefined;
    log.warn({ event: 'csrf.refused', path, origin, referer, ip: deps.ipOf(req), websocket: upgrade }, 'request from another origin refused');
    const named = source === 'null' ? 'null (a sandboxed frame, or a data: or file: page)' : (source ?? 'no Origin or Referer');
    return { kind: 'refuse', status: 403, detail: `CSRF Failed: Origin checking failed - ${named} does not match ${deps.publicUrl.origin}.` };
  };

  /** Once per interval, asks the directory whether the account may still be used. */
  const recheckAccount: Step = (exchange) => {
    const session = exchange.session as LoadedSession;
    if (!recheck.due(session)) return undefined;
    return recheck.status(session.user.username).then(async (status) => {
      if (status && !status.active) return { kind: 'sign-in' } as const;
      if (status?.active) await sessions.confirm(session, status.user);
      return undefined;
    });
  };

  const signedIn: Step = (exchange) => {
    const session = exchange.session as LoadedSession;
    return { kind: 'user', username: session.user.username, via: 'session', session };
  };

  return { noPaperlessSignIn, publicShares, loadSession, noLocalPasswords, requireLogin, checkOrigin, recheckAccount, signedIn };
}
