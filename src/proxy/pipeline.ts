import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { DirectoryRecheck } from '../session/recheck.js';
import type { LoadedSession, SessionService } from '../session/sessions.js';
import { clientAddress, type TrustFunction } from './client-address.js';
import { removeCookies } from './cookies.js';
import { setForwardingHeaders, stripIdentityHeaders } from './identity-headers.js';
import type { Upstream } from './upstream.js';
import type { WebsocketRegistry } from './websockets.js';

export interface ProxyPipelineDeps {
  identity: Config['identity'];
  sessionCookieName: string;
  publicUrl: URL;
  trust: TrustFunction;
  sessions: SessionService;
  recheck: DirectoryRecheck;
  upstream: Upstream;
  websockets: WebsocketRegistry;
  log: Logger;
}

/** Paperless treats every path containing /api/ as API; API clients get 401 JSON, never a login page. */
export function isApiPath(path: string): boolean {
  return path.includes('/api/') || path.endsWith('/api');
}

export function isPublicSharePath(path: string): boolean {
  return path.startsWith('/share/');
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

/**
 * The proxied request path as named steps:
 * strip spoofed headers → load session → require login → check origin → recheck account → inject identity → forward.
 */
export function createProxyPipeline(deps: ProxyPipelineDeps) {
  const { identity, sessions, recheck, upstream, log } = deps;
  const paperlessSessionCookie = `${identity.paperlessCookiePrefix}sessionid`;
  const gatewayCookieOnly = new Set([deps.sessionCookieName]);
  const anonymousCookies = new Set([deps.sessionCookieName, paperlessSessionCookie]);
  const proto = deps.publicUrl.protocol.slice(0, -1);

  function forwardingHeaders(req: IncomingMessage): void {
    setForwardingHeaders(req.headers, { ip: clientAddress(req, deps.trust), proto, host: req.headers.host });
  }

  /** Runs on every request, before anything else: the identity header is the gateway's alone. */
  const stripSpoofedHeaders: RequestHandler = (req, _res, next) => {
    const removed = stripIdentityHeaders(req.headers, identity.remoteUserHeader);
    if (removed > 0) log.warn({ path: pathOf(req.url), ip: req.ip, removed }, 'client-sent identity header removed');
    next();
  };

  /** Public share links: forwarded as nobody, without the browser's Paperless session (it is persistent). */
  const forwardAnonymous: RequestHandler = (req, res) => {
    removeCookies(req.headers, anonymousCookies);
    forwardingHeaders(req);
    upstream.web(req, res);
  };

  function refuse(req: Request, res: Response): void {
    if (isApiPath(req.path) || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.status(401).set('WWW-Authenticate', 'Token').json({ detail: 'Authentication credentials were not provided.' });
      return;
    }
    res.redirect(302, `/accounts/login/?next=${encodeURIComponent(req.originalUrl)}`);
  }

  const requireLogin: RequestHandler = async (req: Request, res: Response, next: NextFunction) => {
    let session: LoadedSession | undefined;
    try {
      session = await sessions.current(req);
    } catch (err) {
      next(err);
      return;
    }
    if (!session) {
      refuse(req, res);
      return;
    }
    res.locals.session = session;
    next();
  };

  const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
  /**
   * Paperless skips its own CSRF check for API calls authenticated by the
   * header (API header mode), so the gateway checks the origin of every
   * unsafe request that rides on its session cookie.
   */
  const checkOrigin: RequestHandler = (req, res, next) => {
    if (!UNSAFE.has(req.method)) {
      next();
      return;
    }
    const origin = req.get('origin');
    const referer = req.get('referer');
    let source: string | undefined;
    try {
      source = origin && origin !== 'null' ? origin : referer ? new URL(referer).origin : undefined;
    } catch {
      source = undefined;
    }
    if (source === deps.publicUrl.origin) {
      next();
      return;
    }
    log.warn({ event: 'csrf.refused', path: req.path, origin, referer, ip: req.ip }, 'unsafe request from another origin refused');
    res.status(403).json({ detail: `CSRF Failed: Origin checking failed - ${source ?? 'no Origin or Referer'} does not match ${deps.publicUrl.origin}.` });
  };

  /** Once per interval, asks the directory whether the account may still be used. */
  const recheckAccount: RequestHandler = async (req: Request, res: Response, next: NextFunction) => {
    const session = res.locals.session as LoadedSession;
    if (!recheck.due(session)) {
      next();
      return;
    }
    try {
      const status = await recheck.check(session.user.username);
      if (status && !status.active) {
        refuse(req, res);
        return;
      }
      if (status?.active) sessions.confirm(req, status.user);
      next();
    } catch (err) {
      next(err);
    }
  };

  function setIdentity(req: IncomingMessage, username: string): void {
    removeCookies(req.headers, gatewayCookieOnly);
    req.headers[identity.remoteUserHeader.toLowerCase()] = username;
    forwardingHeaders(req);
  }

  const injectIdentity: RequestHandler = (req, res, next) => {
    setIdentity(req, (res.locals.session as LoadedSession).user.username);
    next();
  };

  const forward: RequestHandler = (req, res) => {
    upstream.web(req, res);
  };

  /** Websocket upgrades bypass express, so the same steps run here by hand. */
  async function upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    stripIdentityHeaders(req.headers, identity.remoteUserHeader);
    // Cross-site websocket hijacking: a page elsewhere must not ride on the user's cookies.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== deps.publicUrl.origin) {
      log.warn({ event: 'csrf.refused', path: pathOf(req.url), origin }, 'websocket from another origin refused');
      rejectUpgrade(socket, 403, 'Forbidden');
      return;
    }
    let session: LoadedSession | undefined;
    try {
      session = await sessions.fromCookieHeader(req.headers.cookie);
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
    setIdentity(req, session.user.username);
    deps.websockets.track(session.sid, session.createdAt, socket);
    upstream.ws(req, socket, head);
  }

  /** Forwards as a user authenticated some other way than a session (Basic credentials). */
  function forwardAs(req: IncomingMessage, res: Response, username: string): void {
    setIdentity(req, username);
    upstream.web(req, res);
  }

  return { stripSpoofedHeaders, forwardAnonymous, forwardAs, loadSession: sessions.middleware, requireLogin, checkOrigin, recheckAccount, injectIdentity, forward, upgrade };
}

export function rejectUpgrade(socket: Socket, status: number, reason: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}
