import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { ProxyServer } from 'http-proxy-3';
import type { Config } from '../config/config.js';
import type { LoadedSession } from '../session/sessions.js';
import { type Metrics, statusClass } from '../ops/metrics.js';
import { UpstreamUnavailableError } from './errors.js';
import { HttpCore } from './http-core.js';

/** Keep-alive sockets to Paperless, shared by every request (the benchmark's bare proxy uses the same). */
export const UPSTREAM_AGENT_OPTIONS: http.AgentOptions = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: 60_000 };

export interface UpstreamEvents {
  /** Paperless could not be reached or did not answer in time; the client is still there. */
  unavailable: (error: UpstreamUnavailableError, req: http.IncomingMessage, res: http.ServerResponse | Socket) => void;
  /** The client left before Paperless answered: nothing is wrong with Paperless, nobody to answer. */
  clientLeft: (detail: string, req: http.IncomingMessage) => void;
}

/** The client's end of a proxied exchange is gone (closed tab, aborted upload, cut-off stall). */
function clientGone(res: http.ServerResponse | Socket): boolean {
  const socket = res instanceof http.ServerResponse ? res.socket : res;
  return !socket || socket.destroyed;
}

/** Decides which of an answer's Set-Cookie lines the browser gets, knowing the gateway session the request was forwarded for. */
export type SetCookieFilter = (setCookies: string[], session: LoadedSession | undefined) => string[];

/**
 * The one connection to Paperless: a keep-alive agent shared by every
 * request, Host kept as the browser sent it (Paperless checks CSRF origins
 * against it), bodies streamed both ways.
 */
export class Upstream {
  readonly agent: http.Agent;
  /** Plain HTTP: undici (about twice http-proxy-3's requests per second; README "Performance"). */
  private readonly http: HttpCore<LoadedSession>;
  /** The session of each websocket handshake under way (rare beside plain requests, which carry theirs). */
  private readonly handshakeSessions = new WeakMap<http.IncomingMessage, LoadedSession>();
  /** Websocket handshakes and their sockets. */
  private readonly proxy: ProxyServer;
  private setCookieFilter?: SetCookieFilter;

  constructor(
    private readonly config: Config['upstream'],
    events: UpstreamEvents,
    private readonly metrics: Pick<Metrics, 'proxied'>,
  ) {
    this.http = new HttpCore(config.url, config.timeoutMs, {
      setCookies: (lines, session) => (this.setCookieFilter ? this.setCookieFilter(lines, session) : lines),
      failed: (err, req, res) => events.unavailable(new UpstreamUnavailableError(err.message, { cause: err.cause }), req, res),
      clientLeft: (detail, req) => events.clientLeft(detail, req),
      finished: (res, seconds) => this.observe(res.statusCode, seconds),
    });
    const Agent = config.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent(UPSTREAM_AGENT_OPTIONS);
    this.proxy = new ProxyServer({
      target: config.url.origin,
      agent: this.agent,
      ws: true,
      xfwd: false,
      changeOrigin: false,
      proxyTimeout: config.timeoutMs,
    });
    // http-proxy-3 times out requests, not websocket handshakes. Paperless's server (granian
    // 2.5.4) never answers a handshake that Channels denies, such as one whose Paperless session
    // is gone, so without this the browser and our socket would wait forever.
    this.proxy.on('proxyReqWs', (proxyReq, req, socket) => {
      // Registered before http-proxy-3's own listeners, which write the handshake's answer
      // (101 or a refusal) straight to the socket without a proxyRes event: filter it here.
      const filterAnswer = (proxyRes: http.IncomingMessage) => this.filterCookies(proxyRes, req);
      proxyReq.once('upgrade', filterAnswer);
      proxyReq.once('response', filterAnswer);
      const timer = setTimeout(() => {
        proxyReq.destroy(new Error(`no answer to the websocket handshake within ${config.timeoutMs} ms (Paperless denies the socket without a Paperless session)`));
      }, config.timeoutMs);
      // A browser that leaves mid-handshake must not keep Paperless's socket until the timeout.
      // The server's sockets are half-open, so leaving shows as 'end' long before any 'close'.
      const left = () => {
        socket.destroy();
        proxyReq.destroy(new Error('the client left during the handshake'));
      };
      socket.once('end', left);
      socket.once('close', left);
      const settled = () => {
        clearTimeout(timer);
        socket.off('end', left);
        socket.off('close', left);
      };
      proxyReq.once('upgrade', settled);
      proxyReq.once('response', settled);
      proxyReq.once('close', settled);
    });
    // Before http-proxy-3 copies the answer's headers: the filter decides which cookies the browser gets.
    this.proxy.on('proxyRes', (proxyRes, req) => this.filterCookies(proxyRes, req));
    this.proxy.on('error', (err, req, res) => {
      const detail = `upstream ${req.method} ${req.url}: ${err.message}`;
      if (clientGone(res)) events.clientLeft(detail, req);
      else events.unavailable(new UpstreamUnavailableError(detail, { cause: err }), req, res);
    });
  }

  /** Set once by the request path: it knows which session each request belongs to. */
  filterSetCookies(filter: SetCookieFilter): void {
    this.setCookieFilter = filter;
  }

  private filterCookies(proxyRes: http.IncomingMessage, req: http.IncomingMessage): void {
    const lines = proxyRes.headers['set-cookie'];
    if (lines && this.setCookieFilter) proxyRes.headers['set-cookie'] = this.setCookieFilter(lines, this.handshakeSessions.get(req));
  }

  /** `session`: the gateway session the request is forwarded for; `done`: called once when the exchange is over, however it ended. */
  web(req: http.IncomingMessage, res: http.ServerResponse, session: LoadedSession | undefined, done?: () => void): void {
    this.http.forward(req, res, session, done);
  }

  private observe(status: number, seconds: number): void {
    this.metrics.proxied.record(statusClass(status), seconds);
  }

  ws(req: http.IncomingMessage, socket: Socket, head: Buffer, session: LoadedSession | undefined): void {
    if (session) this.handshakeSessions.set(req, session);
    void this.proxy.ws(req, socket, head);
  }

  close(): void {
    this.proxy.close();
    this.agent.destroy();
    this.http.close().catch(() => undefined);
  }
}
