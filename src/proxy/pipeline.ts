import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { DirectoryRecheck } from '../session/recheck.js';
import type { LoadedSession, SessionService } from '../session/sessions.js';
import { clientAddress, type TrustFunction } from './client-address.js';
import { parseSetCookie, rewriteCookies } from './cookies.js';
import { pathOf } from '../url-path.js';
import { redirect, sendJson, type Exchange, type Step } from './exchange.js';
import { dropConnectionNamedHeaders, setForwardingHeaders, stripIdentityHeaders } from './identity-headers.js';
import { isShareLink } from './request-target.js';
import { fitsIdentityHeader, UsernameNotRepresentableError } from '../directory/errors.js';
import type { Upstream } from './upstream.js';
import { GatewayError } from '../errors.js';
import type { WebsocketRegistry } from './websockets.js';

export interface ProxyPipelineDeps {
  identity: Config['identity'];
  sessionCookieName: string;
  publicUrl: URL;
  trust: TrustFunction;
  sessions: SessionService;
  recheck: DirectoryRecheck;
  upstream: Upstream;
  /** Requests one client address may have in flight to Paperless (the pool has 256 sockets). */
  maxPerClient: number;
  websockets: WebsocketRegistry;
  log: Logger;
}

/** Paperless treats every path containing /api/ as API; API clients get 401 JSON, never a login page. */
export function isApiPath(path: string): boolean {
  return path.includes('/api/') || path.endsWith('/api');
}

/** Methods that change nothing; every other one, PROPFIND and made-up ones included, is checked. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * The proxied request path as named steps, each a small function of the exchange:
 * strip spoofed headers → public shares → load session → API clients → require login
 * → check origin → recheck account → inject identity → forward.
 * (API clients is built in api-clients.ts and placed by the caller.)
 */
export function createProxyPipeline(deps: ProxyPipelineDeps) {
  const { identity, sessions, recheck, upstream, log } = deps;
  const paperlessSessionCookie = `${identity.paperlessCookiePrefix}sessionid`;
  // Neither the gateway's cookie nor any browser cookie Django would read as its session cookie
  // goes upstream: Paperless's session comes from the gateway session's jar alone.
  const notForwarded = new Set([deps.sessionCookieName, paperlessSessionCookie]);
  /** Which gateway session a forwarded request belongs to, for its response's Set-Cookie. */
  const sessionOf = new WeakMap<IncomingMessage, LoadedSession>();
  const proto = deps.publicUrl.protocol.slice(0, -1);
  const identityKey = identity.remoteUserHeader.toLowerCase();

  const ipOf = (req: IncomingMessage): string => clientAddress(req, deps.trust);

  /**
   * The one way to Paperless for HTTP: no client address may hold more than its share of the
   * upstream pool (slow bodies or slow answers from one address must not starve everyone).
   */
  const inFlight = new Map<string, number>();
  function toPaperless(x: Exchange): void {
    const ip = ipOf(x.req);
    const count = inFlight.get(ip) ?? 0;
    if (count >= deps.maxPerClient) {
      log.warn({ event: 'upstream.client_limit', ip, inFlight: count }, 'too many requests in flight from one address');
      sendJson(x.res, 503, { detail: 'Too many requests from your address are still waiting for Paperless. Try again in a moment.' }, { 'Retry-After': '1' });
      return;
    }
    inFlight.set(ip, count + 1);
    x.res.once('close', () => {
      const left = (inFlight.get(ip) ?? 1) - 1;
      if (left <= 0) inFlight.delete(ip);
      else inFlight.set(ip, left);
    });
    upstream.web(x.req, x.res);
  }

  function forwardingHeaders(req: IncomingMessage): void {
    setForwardingHeaders(req.headers, { ip: ipOf(req), proto, host: req.headers.host });
  }

  function strip(req: IncomingMessage): void {
    dropConnectionNamedHeaders(req.headers, req.headers.upgrade !== undefined);
    const removed = stripIdentityHeaders(req.headers, identity.remoteUserHeader);
    if (removed > 0) log.warn({ path: pathOf(req.url), ip: ipOf(req), removed }, 'client-sent identity header removed');
  }

  /** Runs on every request, before anything else: the identity header is the gateway's alone. */
  const stripSpoofedHeaders: Step = ({ req }) => {
    strip(req);
    return true;
  };

  /** Forwards as nobody, without the browser's Paperless session (it is persistent). */
  function forwardAnonymous(x: Exchange): void {
    rewriteCookies(x.req.headers, notForwarded);
    forwardingHeaders(x.req);
    toPaperless(x);
  }

  /** Public share links need no sign-in: exactly Paperless's share route, read-only, without a body. */
  const publicShares: Step = (x) => {
    if (!isShareLink(x.path) || (x.req.method !== 'GET' && x.req.method !== 'HEAD')) return true;
    // A body nobody needs would hold an upstream socket for as long as a client trickles it.
    const length = x.req.headers['content-length'];
    if ((length !== undefined && length !== '0') || x.req.headers['transfer-encoding'] !== undefined) {
      sendJson(x.res, 400, { detail: 'A share link is fetched without a request body.' });
      return false;
    }
    forwardAnonymous(x);
    return false;
  };

  /** The signed-in session, if any, from the cookie: cached briefly, never through express-session. */
  const loadSession: Step = (x) => {
    const found = sessions.lookup(x.req.headers.cookie, x.res);
    if (found instanceof Promise) {
      return found.then((session) => {
        if (session) x.session = session;
        return true;
      });
    }
    if (found) x.session = found;
    return true;
  };

  function refuse(x: Exchange): false {
    if (isApiPath(x.path) || (x.req.method !== 'GET' && x.req.method !== 'HEAD')) {
      sendJson(x.res, 401, { detail: 'Authentication credentials were not provided.' }, { 'WWW-Authenticate': 'Token' });
    } else {
      redirect(x.res, `/accounts/login/?next=${encodeURIComponent(x.req.url ?? '/')}`);
    }
    return false;
  }

  const requireLogin: Step = (x) => (x.session ? true : refuse(x));

  /**
   * Paperless skips its own CSRF check for API calls authenticated by the
   * header (API header mode), so the gateway checks the origin of every
   * unsafe request that rides on its session cookie.
   */
  const checkOrigin: Step = ({ req, res, path }) => {
    if (SAFE.has(req.method ?? 'GET')) return true;
    const { origin, referer } = req.headers;
    let source: string | undefined;
    try {
      source = origin && origin !== 'null' ? origin : referer ? new URL(referer).origin : undefined;
    } catch {
      source = undefined;
    }
    if (source === deps.publicUrl.origin) return true;
    log.warn({ event: 'csrf.refused', path, origin, referer, ip: ipOf(req) }, 'unsafe request from another origin refused');
    sendJson(res, 403, { detail: `CSRF Failed: Origin checking failed - ${source ?? 'no Origin or Referer'} does not match ${deps.publicUrl.origin}.` });
    return false;
  };

  /** Once per interval, asks the directory whether the account may still be used. */
  const recheckAccount: Step = (x) => {
    const session = x.session as LoadedSession;
    if (!recheck.due(session)) return true;
    return recheck.check(session.user.username).then(async (status) => {
      if (status && !status.active) return refuse(x);
      if (status?.active) await sessions.confirm(session, status.user);
      return true;
    });
  };

  function setIdentity(req: IncomingMessage, username: string, session?: LoadedSession): void {
    // Sign-in refuses such names; a session from before that rule must not reach Node's header check.
    if (!fitsIdentityHeader(username)) throw new UsernameNotRepresentableError(username);
    const jar = session?.paperlessSession;
    rewriteCookies(req.headers, notForwarded, jar ? { name: paperlessSessionCookie, value: jar } : undefined);
    if (session) sessionOf.set(req, session);
    req.headers[identityKey] = username;
    forwardingHeaders(req);
  }

  const injectIdentity: Step = (x) => {
    const session = x.session as LoadedSession;
    setIdentity(x.req, session.user.username, session);
    return true;
  };

  /**
   * Paperless's `sessionid` never reaches the browser: taken out of every answer, and kept in
   * the gateway session it belongs to (rotation and deletion followed). Answers to requests
   * without a gateway session lose it too.
   */
  function keepPaperlessSession(setCookies: string[], req: IncomingMessage): string[] {
    const kept: string[] = [];
    for (const line of setCookies) {
      const cookie = parseSetCookie(line);
      if (cookie.name !== paperlessSessionCookie) {
        kept.push(line);
        continue;
      }
      const session = sessionOf.get(req);
      if (!session) continue;
      const value = cookie.deletes ? undefined : cookie.value;
      if (value === session.paperlessSession) continue;
      sessions.setPaperlessSession(session, value).catch((err: unknown) => log.warn({ err: String(err) }, "cannot keep Paperless's session"));
    }
    return kept;
  }

  const forward: Step = (x) => {
    toPaperless(x);
    return false;
  };

  /** Websocket upgrades are not requests with a response, so the same steps run here by hand. */
  async function upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    try {
      await upgradeSteps(req, socket, head);
    } catch (err) {
      // Nothing on this path may take the process down: refuse this one socket and go on.
      const status = err instanceof GatewayError ? err.status : 500;
      log.error({ err: err instanceof Error ? err.message : String(err), path: pathOf(req.url) }, 'websocket upgrade failed');
      rejectUpgrade(socket, status, status === 403 ? 'Forbidden' : 'Internal Server Error');
    }
  }

  async function upgradeSteps(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    strip(req);
    // Cross-site websocket hijacking: a page elsewhere must not ride on the user's cookies.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== deps.publicUrl.origin) {
      log.warn({ event: 'csrf.refused', path: pathOf(req.url), origin }, 'websocket from another origin refused');
      rejectUpgrade(socket, 403, 'Forbidden');
      return;
    }
    let session: LoadedSession | undefined;
    try {
      session = await sessions.lookup(req.headers.cookie);
    } catch (err) {
      log.warn({ err: String(err) }, 'websocket refused: session store unavailable');
      rejectUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    if (!session) {
      rejectUpgrade(socket, 401, 'Unauthorized');
      return;
    }
    if (recheck.due(session)) {
      const status = await recheck.check(session.user.username);
      if (status && !status.active) {
        rejectUpgrade(socket, 401, 'Unauthorized');
        return;
      }
    }
    setIdentity(req, session.user.username, session);
    deps.websockets.track(session.sid, session.endsAt, socket);
    upstream.ws(req, socket, head);
  }

  /** Forwards as a user authenticated some other way than a session (Basic credentials). */
  function forwardAs(x: Exchange, username: string): void {
    setIdentity(x.req, username);
    toPaperless(x);
  }

  /** The same first step for the gateway's own pages (served by Express). */
  const stripSpoofedHeadersMiddleware: RequestHandler = (req, _res, next) => {
    strip(req);
    next();
  };

  return {
    steps: { stripSpoofedHeaders, publicShares, loadSession, requireLogin, checkOrigin, recheckAccount, injectIdentity, forward },
    stripSpoofedHeadersMiddleware,
    forwardAnonymous,
    forwardAs,
    ipOf,
    upgrade,
    keepPaperlessSession,
  };
}

export function rejectUpgrade(socket: Socket, status: number, reason: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}
