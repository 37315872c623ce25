import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config/config.js';
import type { LoadedSession } from '../session/sessions.js';
import { type Metrics, statusClass } from '../ops/metrics.js';
import { UpstreamUnavailableError } from './errors.js';
import type { HandshakeAttempt } from './handshake.js';
import { HandshakeTimeoutError } from './handshake-timeout.js';
import { HttpCore } from './http-core.js';

export interface UpstreamEvents {
  /** Paperless could not be reached or did not answer in time (a handshake: 504); the client is still there. */
  unavailable: (error: UpstreamUnavailableError | HandshakeTimeoutError, req: http.IncomingMessage, res: http.ServerResponse | Socket) => void;
  /** The client left before Paperless answered: nothing is wrong with Paperless, nobody to answer. */
  clientLeft: (detail: string, req: http.IncomingMessage) => void;
}

/** Decides which of an answer's Set-Cookie lines the browser gets, knowing the gateway session the request was forwarded for. */
export type SetCookieFilter = (setCookies: string[], session: LoadedSession | undefined) => string[];

/** Decides the Location of a redirect Paperless answered `req` with (forwarded for `session`). */
export type RedirectFilter = (location: string, req: http.IncomingMessage, session: LoadedSession | undefined) => string;

/**
 * The one connection to Paperless: a keep-alive pool shared by every request and websocket
 * handshake, Host kept as the browser sent it (Paperless checks CSRF origins against it), bodies
 * streamed both ways.
 */
export class Upstream {
  /** undici (about twice http-proxy-3's requests per second; test/bench/HISTORY.md, "The forwarding core"). */
  private readonly http: HttpCore<LoadedSession>;
  private setCookieFilter?: SetCookieFilter;
  private redirectFilter?: RedirectFilter;
  /** Paperless's own origin, as the gateway reaches it (a Location may name it). */
  readonly url: URL;

  constructor(
    config: Config['upstream'],
    events: UpstreamEvents,
    private readonly metrics: Pick<Metrics, 'proxied'>,
  ) {
    this.url = config.url;
    const limits = { timeoutMs: config.timeoutMs, connections: config.connections, handshakeTimeoutMs: config.handshakeTimeoutMs };
    this.http = new HttpCore(config.url, limits, {
      setCookies: (lines, session) => (this.setCookieFilter ? this.setCookieFilter(lines, session) : lines),
      failed: (err, req, to) => events.unavailable(err instanceof HandshakeTimeoutError ? err : new UpstreamUnavailableError(err.message, { cause: err.cause }), req, to),
      clientLeft: (detail, req) => events.clientLeft(detail, req),
      finished: (res, seconds) => this.observe(res.statusCode, seconds),
      redirected: (location, req, session) => (this.redirectFilter ? this.redirectFilter(location, req, session) : location),
    });
  }

  /** Set once by the request path: it knows which session each request belongs to. */
  filterSetCookies(filter: SetCookieFilter): void {
    this.setCookieFilter = filter;
  }

  /** Set once by the request path: it knows which requests carried the identity header. */
  filterRedirects(filter: RedirectFilter): void {
    this.redirectFilter = filter;
  }

  /** `session`: the gateway session the request is forwarded for; `done`: called once when the exchange is over, however it ended. */
  web(req: http.IncomingMessage, res: http.ServerResponse, session: LoadedSession | undefined, done?: () => void): void {
    this.http.forward(req, res, session, done);
  }

  private observe(status: number, seconds: number): void {
    this.metrics.proxied.record(statusClass(status), seconds);
  }

  /** `attempt`: when the handshake is over, and whether a refusal goes back to the caller to try again (see Handshake). */
  ws(req: http.IncomingMessage, socket: Socket, head: Buffer, session: LoadedSession | undefined, attempt?: HandshakeAttempt): void {
    this.http.upgrade(req, socket, head, session, attempt);
  }

  /** A plain GET to Paperless, for the cookies its answer sets (a fresh Paperless session before a handshake). */
  setCookiesOf(path: string, headers: http.IncomingHttpHeaders, signal: AbortSignal): Promise<{ status: number; setCookies: string[] }> {
    return this.http.setCookiesOf(path, headers, signal);
  }

  close(): void {
    this.http.close().catch(() => undefined);
  }
}
