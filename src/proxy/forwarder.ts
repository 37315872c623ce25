import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { fitsIdentityHeader, UsernameNotRepresentableError } from '../directory/errors.js';
import { GatewayError } from '../errors.js';
import { echoRequestId } from '../ops/access-log.js';
import type { LoadedSession, SessionService } from '../session/sessions.js';
import { isApiPath, pathOf } from '../url-path.js';
import { parseSetCookie, rewriteCookies } from './cookies.js';
import { redirect, sendJson, type Decision, type Exchange } from './exchange.js';
import type { RetryReason } from './handshake.js';
import { dropConnectionNamedHeaders, identityHeaderStripper, setForwardingHeaders } from './identity-headers.js';
import { paperlessSessionRefresh } from './paperless-session-refresh.js';
import type { Upstream } from './upstream.js';
import type { WebsocketRegistry } from './websockets.js';
import { AddressShares } from '../address-shares.js';
import type { Clock } from '../clock.js';
import { loginRedirect, markedLocation, RefusalMarker } from './header-login-refused.js';
import { LogThrottle } from '../ops/log-throttle.js';

export interface ForwarderDeps {
  identity: Config['identity'];
  sessionCookieName: string;
  publicUrl: URL;
  ipOf: (req: IncomingMessage) => string;
  sessions: SessionService;
  upstream: Upstream;
  /** Requests and websocket handshakes one client address may have in flight to Paperless (a share of the pool). */
  maxPerClient: number;
  websockets: WebsocketRegistry;
  /** The error page for HTTP (the web concern renders it). */
  httpFailure: (err: unknown, req: IncomingMessage, res: ServerResponse) => void;
  /** Signs the marker that tells the sign-in page Paperless refused the identity header (header-login-refused.ts). */
  sessionSecret: string;
  clock?: Clock;
  log: Logger;
}

/** How often a Paperless that refuses the identity header for pages is logged: every page would say it again. */
export const HEADER_LOGIN_REFUSED_LOG_INTERVAL_MS = 60_000;

/**
 * The one place that turns a decision into what Paperless and the client receive, for HTTP and
 * websockets alike: the identity header, Paperless's session from the gateway's jar and no
 * browser copy of it, forwarding headers, the per-address share of the upstream pool (requests
 * and handshakes alike), and every refusal.
 */
export function createForwarder(deps: ForwarderDeps) {
  const { identity, sessions, upstream, log } = deps;
  const paperlessSessionCookie = `${identity.paperlessCookiePrefix}sessionid`;
  // Neither the gateway's cookie nor any browser cookie Django would read as its session cookie
  // goes upstream: Paperless's session comes from the gateway session's jar alone.
  const notForwarded = new Set([deps.sessionCookieName, paperlessSessionCookie]);
  const proto = deps.publicUrl.protocol.slice(0, -1);
  const identityKey = identity.remoteUserHeader.toLowerCase();
  const stripIdentity = identityHeaderStripper(identity.remoteUserHeader);

  /** Runs first on every request (the gateway's own pages too): the identity header is the gateway's alone. */
  function strip(req: IncomingMessage): void {
    dropConnectionNamedHeaders(req.headers, req.headers.upgrade !== undefined);
    const removed = stripIdentity(req.headers);
    if (removed > 0) log.warn({ path: pathOf(req.url), ip: deps.ipOf(req), removed }, 'client-sent identity header removed');
  }

  /** No client address may hold more than its share of the upstream pool. */
  const inFlight = new AddressShares(deps.maxPerClient);
  const CLIENT_LIMIT = 'Too many requests from your address are still waiting for Paperless. Try again in a moment.';
  /** Takes a place of `ip`'s share, or says false when it has none left. */
  function take(ip: string, websocket: boolean): boolean {
    if (inFlight.take(ip)) return true;
    log.warn({ event: 'upstream.client_limit', ip, inFlight: inFlight.holding(ip), websocket }, 'too many requests in flight from one address');
    return false;
  }
  function give(ip: string): void {
    inFlight.give(ip);
  }
  function toPaperless(req: IncomingMessage, res: ServerResponse, ip: string, session: LoadedSession | undefined): void {
    if (!take(ip, false)) {
      echoRequestId(req, res);
      sendJson(res, 503, { detail: CLIENT_LIMIT }, { 'Retry-After': '1' });
      return;
    }
    upstream.web(req, res, session, () => give(ip));
  }

  const refreshPaperlessSession = paperlessSessionRefresh({ upstream, sessions, paperlessSessionCookie, notForwarded });

  /**
   * A websocket handshake holds a socket of the pool until Paperless answers, so it takes a
   * place of the address's share until then, as a request does. With a gateway session whose
   * jar holds no Paperless session, a fresh one is asked for first; with one Paperless may have
   * forgotten, a refusal (403, or no answer within the handshake timeout) brings one fresh
   * session and one more try. Either way at most one refresh per handshake.
   */
  function toPaperlessSocket(req: IncomingMessage, socket: Socket, head: Buffer, ip: string, session: LoadedSession | undefined): void {
    if (!take(ip, true)) {
      rejectUpgrade(socket, 503, CLIENT_LIMIT, { 'Retry-After': '1' });
      return;
    }
    if (session) deps.websockets.track(session.sid, session.endsAt, socket);
    // The browser leaving while the gateway asks Paperless for a session ends that request too.
    const abandoned = new AbortController();
    const gone = () => abandoned.abort(new Error('the client left during the handshake'));
    const halfClosed = () => socket.destroy();
    socket.once('close', gone);
    socket.once('end', halfClosed);
    let over = false;
    const finished = () => {
      if (over) return;
      over = true;
      socket.off('close', gone);
      socket.off('end', halfClosed);
      give(ip);
    };
    const dispatch = (retry: boolean) => {
      if (socket.destroyed) return finished();
      upstream.ws(req, socket, head, session, retry ? { finished, retry: (reason) => refresh(reason) } : { finished });
    };
    const refresh = (after?: RetryReason) => {
      const current = session as LoadedSession;
      refreshPaperlessSession(req, current, abandoned.signal).then(
        (value) => {
          if (socket.destroyed) return finished();
          if (value === undefined && after !== undefined) {
            log.warn({ event: 'websocket.no_paperless_session', path: pathOf(req.url), user: current.user.username, after }, 'Paperless refused the websocket and gave no new session');
            rejectUpgrade(socket, after === 'refused' ? 403 : 504, 'Paperless refused the live-update connection for your account. Reload the page to try again.');
            return finished();
          }
          if (value !== undefined) rewriteCookies(req.headers, notForwarded, { name: paperlessSessionCookie, value });
          dispatch(false);
        },
        (err: unknown) => {
          if (socket.destroyed) {
            log.info({ event: 'client.left', path: pathOf(req.url) }, 'client left before Paperless answered');
            return finished();
          }
          log.warn({ event: 'websocket.session_refresh_failed', err: err instanceof Error ? err.message : String(err), path: pathOf(req.url) }, "cannot get a Paperless session for a websocket");
          const timedOut = (err as { code?: unknown }).code === 'UND_ERR_HEADERS_TIMEOUT' || (err as { code?: unknown }).code === 'UND_ERR_BODY_TIMEOUT';
          rejectUpgrade(socket, timedOut ? 504 : 502, timedOut ? 'Paperless did not answer the live-update connection in time. Reload the page to try again.' : 'Paperless is unreachable right now. Please try again in a moment.');
          finished();
        },
      );
    };
    if (!session) dispatch(false);
    else if (session.paperlessSession === undefined) refresh();
    else dispatch(true);
  }

  function refuse(exchange: Exchange, status: number, detail: string, headers: Record<string, string | string[]> = {}, fields?: Record<string, string[]>): void {
    if (exchange.to.kind === 'http') {
      echoRequestId(exchange.req, exchange.to.res);
      sendJson(exchange.to.res, status, fields ?? { detail }, headers);
    } else rejectUpgrade(exchange.to.socket, status, detail);
  }

  function signIn(exchange: Exchange): void {
    const { req } = exchange;
    if (exchange.to.kind === 'http' && !isApiPath(exchange.path) && (req.method === 'GET' || req.method === 'HEAD')) {
      echoRequestId(req, exchange.to.res);
      redirect(exchange.to.res, `/accounts/login/?next=${encodeURIComponent(req.url ?? '/')}`);
      return;
    }
    refuse(exchange, 401, 'Authentication credentials were not provided.', { 'WWW-Authenticate': 'Token' });
  }

  function forward(exchange: Exchange, decision: Extract<Decision, { kind: 'anonymous' | 'user' }>): void {
    const { req } = exchange;
    let jar: { name: string; value: string } | undefined;
    // The gateway session the answer's Set-Cookie lines belong to (see keepPaperlessSession).
    let session: LoadedSession | undefined;
    if (decision.kind === 'user') {
      // Sign-in refuses such names; a session from before that rule must not reach Node's header check.
      if (!fitsIdentityHeader(decision.username)) throw new UsernameNotRepresentableError(decision.username);
      if (decision.via !== 'session') delete req.headers.authorization; // the password (or Kerberos token) stays here
      else {
        session = decision.session;
        if (decision.session.paperlessSession) jar = { name: paperlessSessionCookie, value: decision.session.paperlessSession };
      }
      req.headers[identityKey] = decision.username;
    }
    // A Kerberos token is the gateway's alone, whatever the decision (a signed-in browser may send one too).
    const authorization = req.headers.authorization;
    if (authorization !== undefined && /^\s*negotiate\b/i.test(authorization)) delete req.headers.authorization;
    rewriteCookies(req.headers, notForwarded, jar);
    const ip = deps.ipOf(req);
    setForwardingHeaders(req.headers, { ip, proto, host: req.headers.host });
    if (exchange.to.kind === 'http') {
      // RFC 4559's final token, so a client may check it was this service that answered; Paperless's
      // own challenge, on a 401, replaces it.
      if (decision.kind === 'user' && decision.via === 'kerberos' && decision.answer) exchange.to.res.setHeader('WWW-Authenticate', decision.answer);
      toPaperless(req, exchange.to.res, ip, session);
      return;
    }
    toPaperlessSocket(req, exchange.to.socket, exchange.to.head, ip, session);
  }

  function apply(exchange: Exchange, decision: Decision): void {
    switch (decision.kind) {
      case 'refuse':
        return refuse(exchange, decision.status, decision.detail, decision.headers, decision.fields);
      case 'sign-in':
        return signIn(exchange);
      default:
        return forward(exchange, decision);
    }
  }

  /** Nothing on the request path may take the process down: this one request or socket is refused. */
  function fail(exchange: Exchange, err: unknown): void {
    if (exchange.to.kind === 'http') {
      echoRequestId(exchange.req, exchange.to.res);
      deps.httpFailure(err, exchange.req, exchange.to.res);
      return;
    }
    const known = err instanceof GatewayError;
    log[known ? 'warn' : 'error']({ err: err instanceof Error ? err.message : String(err), path: exchange.path }, 'websocket upgrade refused');
    rejectUpgrade(exchange.to.socket, known ? err.status : 500, known ? err.userMessage : 'The gateway hit an unexpected error. It has been logged.');
  }

  /**
   * Paperless's `sessionid` never reaches the browser: taken out of every answer, and kept in
   * the gateway session it belongs to (rotation and deletion followed). Answers to requests
   * without a gateway session lose it too.
   */
  function keepPaperlessSession(setCookies: string[], session: LoadedSession | undefined): string[] {
    const kept: string[] = [];
    for (const line of setCookies) {
      const cookie = parseSetCookie(line);
      if (cookie.name !== paperlessSessionCookie) {
        kept.push(line);
        continue;
      }
      if (!session) continue;
      const value = cookie.deletes ? undefined : cookie.value;
      if (value === session.paperlessSession) continue;
      sessions.setPaperlessSession(session, value).catch((err: unknown) => log.warn({ err: String(err) }, "cannot keep Paperless's session"));
    }
    return kept;
  }

  const marker = new RefusalMarker(deps.sessionSecret, deps.clock);
  const refusalLogged = new LogThrottle(HEADER_LOGIN_REFUSED_LOG_INTERVAL_MS, 1, deps.clock);
  /**
   * Paperless sending a request the gateway signed in (it carries the identity header: `strip`
   * removed any the client sent) to its login page did not take the header: the one place that
   * sees it happen. Said to the admin, at most once a minute, and to the person, through a
   * marker on the Location only the sign-in page of this session accepts (header-login-refused.ts).
   */
  function redirected(location: string, req: IncomingMessage, session: LoadedSession | undefined): string {
    if (req.headers[identityKey] === undefined) return location;
    const login = loginRedirect(location, deps.publicUrl, upstream.url);
    if (login === undefined) return location;
    if (refusalLogged.due()) {
      log.warn(
        {
          event: 'paperless.header_login_refused',
          username: req.headers[identityKey],
          path: pathOf(req.url),
          location,
          settings: ['PAPERLESS_ENABLE_HTTP_REMOTE_USER', 'PAPERLESS_AUDIT_LOG_ENABLED'],
        },
        'Paperless sent a request carrying the identity header to its login page: it does not take the header for pages. Set PAPERLESS_ENABLE_HTTP_REMOTE_USER=true and remove PAPERLESS_AUDIT_LOG_ENABLED=false (with the audit log off, Paperless stops header login for pages); check-config tells which. Logged at most once a minute',
      );
    }
    // Basic clients have no gateway session to show a notice in; their Location stays Paperless's.
    return session ? markedLocation(login, marker.make(session.sid)) : location;
  }

  return { strip, apply, fail, keepPaperlessSession, redirected };
}

/** Answers a websocket handshake with an HTTP refusal; the reason goes in the body for people and logs. */
export function rejectUpgrade(socket: Socket, status: number, detail?: string, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = detail === undefined ? '' : JSON.stringify({ detail });
  let extra = '';
  for (const name in headers) extra += `${name}: ${headers[name]}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n${extra}Content-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
