import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { echoRequestId } from '../ops/access-log.js';
import { Handshake, type HandshakeAttempt } from './handshake.js';

/**
 * Headers that belong to one hop (RFC 9110 §7.6.1) or that undici sets itself: never copied
 * from the browser to Paperless. `expect` is answered by Node's server already.
 */
const REQUEST_HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'http2-settings']);
/** The same for answers; `trailer` stays, since Node sends trailers only when it was announced. */
const RESPONSE_HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export interface HttpCoreHooks<Owner> {
  /** Which of an answer's Set-Cookie lines the browser gets; `owner` is what the request was forwarded with. */
  setCookies(lines: string[], owner: Owner | undefined): string[];
  /** Paperless failed (no connection, no answer in time, a broken answer) and the client is still there. */
  failed(err: Error, req: IncomingMessage, to: ServerResponse | Socket): void;
  /** The client left before the exchange ended; Paperless's side has been aborted. */
  clientLeft(detail: string, req: IncomingMessage): void;
  /** The exchange is over, however it ended (the response's one `close` listener calls it). */
  finished(res: ServerResponse, seconds: number): void;
  /**
   * The Location the browser gets for a redirect (3xx with a Location) answering `req`, which was
   * forwarded with `owner`. Optional: the pages thread's link has none.
   */
  redirected?(location: string, req: IncomingMessage, owner: Owner | undefined): string;
  /**
   * How many milliseconds to hold an answer back before the client gets it, read (and removed)
   * from its headers. Optional: only the pages thread's link has it (a refused sign-in's padding,
   * held here so it takes no connection to the thread).
   */
  holdFor?(headers: OutgoingHttpHeaders): number;
}

/** An answer held back until its time, as it arrived: head, body and whether it is complete. */
interface HeldAnswer {
  statusCode: number;
  statusMessage: string | undefined;
  headers: OutgoingHttpHeaders;
  chunks: Buffer[];
  ended: boolean;
  trailers: IncomingHttpHeaders | undefined;
  timer: NodeJS.Timeout;
}

/**
 * Plain HTTP to Paperless on undici: one keep-alive pool, bodies streamed both ways with
 * backpressure, Host kept as the browser sent it, trailers passed on, a client that leaves
 * aborts Paperless's side, and Paperless's silence is bounded by the upstream timeout (for the
 * headers, and between body chunks). Websocket handshakes use the same pool (see Handshake).
 */
export interface HttpCoreLimits {
  /** How long Paperless may stay silent: before its headers, and between body chunks. */
  timeoutMs: number;
  /** The pool's size: at most this many exchanges are in flight at once, the rest wait in its queue. */
  connections: number;
  /** How long a websocket handshake may wait for its answer (Paperless's server may never send one). */
  handshakeTimeoutMs?: number;
}

export class HttpCore<Owner> {
  private readonly pool: Pool;
  private readonly timeoutMs: number;
  private readonly handshakeTimeoutMs: number;

  constructor(
    private readonly origin: URL,
    limits: HttpCoreLimits,
    private readonly hooks: HttpCoreHooks<Owner>,
  ) {
    this.timeoutMs = limits.timeoutMs;
    this.handshakeTimeoutMs = Math.min(limits.handshakeTimeoutMs ?? limits.timeoutMs, limits.timeoutMs);
    this.pool = new Pool(origin.origin, { connections: limits.connections, headersTimeout: limits.timeoutMs, bodyTimeout: limits.timeoutMs });
  }

  /**
   * `owner`: handed back with the answer's Set-Cookie lines (carried by the exchange, not kept
   * beside the request: a WeakMap entry per request was most of the forwarder's own time).
   * `done`: called once when the exchange is over, however it ended.
   */
  forward(req: IncomingMessage, res: ServerResponse, owner: Owner | undefined, done?: () => void): void {
    // Read once: `req.headers` is a getter, and this loop would call it for every header.
    const incoming = req.headers;
    const headers: IncomingHttpHeaders = {};
    for (const name in incoming) if (!REQUEST_HOP_HEADERS.has(name)) headers[name] = incoming[name];
    // A body is what HTTP/1.1 framing says there is: a length other than 0, or chunks.
    const length = incoming['content-length'];
    const hasBody = incoming['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    const options: Dispatcher.DispatchOptions = {
      origin: this.origin.origin,
      path: req.url ?? '/',
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: headers as Record<string, string | string[]>,
      body: hasBody ? req : null,
    };
    this.pool.dispatch(options, new Exchange(req, res, this.hooks, owner, done));
  }

  /**
   * A request whose body the caller has already read in full: sent with its length, so no
   * connection of the pool waits on the client's pace. Kept apart from `forward`, the hot path.
   */
  forwardRead(req: IncomingMessage, res: ServerResponse, body: Buffer, owner: Owner | undefined): void {
    const incoming = req.headers;
    const headers: IncomingHttpHeaders = {};
    for (const name in incoming) if (!REQUEST_HOP_HEADERS.has(name) && name !== 'content-length') headers[name] = incoming[name];
    if (body.length > 0 || incoming['content-length'] !== undefined) headers['content-length'] = String(body.length);
    const options: Dispatcher.DispatchOptions = {
      origin: this.origin.origin,
      path: req.url ?? '/',
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: headers as Record<string, string | string[]>,
      body: body.length > 0 ? body : null,
    };
    this.pool.dispatch(options, new Exchange(req, res, this.hooks, owner, undefined));
  }

  /**
   * A websocket handshake, then the socket's bytes both ways (see Handshake), bounded by the
   * handshake timeout rather than the upstream timeout.
   */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer, owner: Owner | undefined, attempt: HandshakeAttempt = {}): void {
    const options: Dispatcher.DispatchOptions = {
      origin: this.origin.origin,
      path: req.url ?? '/',
      method: 'GET',
      headers: handshakeHeaders(req.headers) as Record<string, string | string[]>,
      body: null,
      // undici writes `Connection: upgrade` and this `Upgrade` itself.
      upgrade: req.headers.upgrade ?? 'websocket',
      headersTimeout: this.handshakeTimeoutMs,
    };
    this.pool.dispatch(options, new Handshake(req, socket, head, this.hooks, owner, this.handshakeTimeoutMs, attempt));
  }

  /**
   * A plain GET to Paperless for what its answer sets (its session cookie), body discarded,
   * bounded by the handshake timeout: it runs while a browser waits for its websocket.
   */
  async setCookiesOf(path: string, headers: IncomingHttpHeaders, signal: AbortSignal): Promise<{ status: number; setCookies: string[] }> {
    const copy: IncomingHttpHeaders = {};
    for (const name in headers) if (!REQUEST_HOP_HEADERS.has(name) && name !== 'content-length') copy[name] = headers[name];
    const answer = await this.pool.request({
      origin: this.origin.origin,
      path,
      method: 'GET',
      headers: copy as Record<string, string | string[]>,
      headersTimeout: this.handshakeTimeoutMs,
      bodyTimeout: this.handshakeTimeoutMs,
      signal,
    });
    await answer.body.dump();
    const value = answer.headers['set-cookie'];
    return { status: answer.statusCode, setCookies: value === undefined ? [] : Array.isArray(value) ? value : [value] };
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

/**
 * The browser's headers but the hop's own, as `forward` copies them. Not shared with `forward`:
 * its copy stays inline there, out of reach of what handshakes do to a shared function's code.
 */
function handshakeHeaders(incoming: IncomingHttpHeaders): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const name in incoming) if (!REQUEST_HOP_HEADERS.has(name)) headers[name] = incoming[name];
  return headers;
}

/** One request's answer, copied to the client as it arrives. */
class Exchange<Owner> implements Dispatcher.DispatchHandler {
  private controller?: Dispatcher.DispatchController;
  private clientGone = false;
  private waitingForDrain = false;
  /** Node sends trailers only for an answer that announced them in a Trailer header. */
  private trailerAnnounced = false;
  private held: HeldAnswer | undefined = undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly hooks: HttpCoreHooks<Owner>,
    private readonly owner: Owner | undefined,
    done: (() => void) | undefined,
  ) {
    const started = performance.now();
    // One listener for everything that happens at the end: each `close` listener on the hot path
    // costs. `on`, not `once`: a response closes once, and once's wrapper and removal cost too.
    res.on('close', () => {
      if (!res.writableFinished) {
        this.clientGone = true;
        this.controller?.abort(new Error('the client left'));
        if (this.held !== undefined) clearTimeout(this.held.timer);
      }
      hooks.finished(res, (performance.now() - started) / 1000);
      done?.();
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new Error('the client left'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode < 200) {
      // Informational answers: early hints go on to the browser; 100 Continue Node's server
      // already sent it, and the others mean nothing to a browser.
      const link = headers.link;
      if (statusCode === 103 && link !== undefined && !this.res.headersSent) this.res.writeEarlyHints({ link });
      return;
    }
    const out: OutgoingHttpHeaders = {};
    for (const name in headers) {
      if (RESPONSE_HOP_HEADERS.has(name)) continue;
      const value = headers[name];
      if (value === undefined) continue;
      out[name] = name === 'set-cookie' ? this.hooks.setCookies(Array.isArray(value) ? value : [value], this.owner) : value;
    }
    if (Array.isArray(out['set-cookie']) && out['set-cookie'].length === 0) delete out['set-cookie'];
    // Only redirects pay for this: one comparison on every other answer.
    if (statusCode >= 300 && statusCode < 400 && typeof out.location === 'string' && this.hooks.redirected) out.location = this.hooks.redirected(out.location, this.req, this.owner);
    // The gateway's request id, the one Paperless received, in the same writeHead (see echoRequestId).
    const id = this.req.headers['x-request-id'];
    if (id !== undefined) out['x-request-id'] = id;
    this.trailerAnnounced = out.trailer !== undefined;
    if (this.res.destroyed) {
      controller.abort(new Error('the client left'));
      return;
    }
    if (this.hooks.holdFor !== undefined) {
      const holdMs = this.hooks.holdFor(out);
      if (holdMs > 0) {
        // Dated when it is sent: the Date it came with tells when the refusal was decided.
        delete out.date;
        this.held = { statusCode, statusMessage, headers: out, chunks: [], ended: false, trailers: undefined, timer: setTimeout(() => this.release(), holdMs) };
        return;
      }
    }
    try {
      if (statusMessage) this.res.writeHead(statusCode, statusMessage, out);
      else this.res.writeHead(statusCode, out);
    } catch (err) {
      // A header Node will not send (a bad character from Paperless): a 502, not a crash.
      controller.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.held !== undefined) {
      this.held.chunks.push(chunk);
      return;
    }
    if (this.res.write(chunk) || this.waitingForDrain) return;
    // The client reads slower than Paperless sends: stop reading Paperless until it catches up.
    this.waitingForDrain = true;
    controller.pause();
    this.res.once('drain', () => {
      this.waitingForDrain = false;
      controller.resume();
    });
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (this.held !== undefined) {
      this.held.ended = true;
      this.held.trailers = trailers;
      return;
    }
    this.end(trailers);
  }

  private end(trailers: IncomingHttpHeaders): void {
    let any = false;
    for (const _name in trailers) {
      any = true;
      break;
    }
    if (any && this.trailerAnnounced) this.res.addTrailers(trailers as Record<string, string>);
    this.res.end();
  }

  /** A held answer's time has come: sent as it arrived, and the rest of it (if any) as it comes. */
  private release(): void {
    const held = this.held;
    if (held === undefined || this.res.destroyed) return;
    this.held = undefined;
    try {
      if (held.statusMessage) this.res.writeHead(held.statusCode, held.statusMessage, held.headers);
      else this.res.writeHead(held.statusCode, held.headers);
    } catch (err) {
      this.controller?.abort(err instanceof Error ? err : new Error(String(err)));
      this.res.destroy();
      return;
    }
    for (const chunk of held.chunks) this.res.write(chunk);
    if (held.ended) this.end(held.trailers ?? {});
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.held !== undefined) {
      // Incomplete: nothing of it goes out; the client gets the failure instead.
      clearTimeout(this.held.timer);
      this.held = undefined;
    }
    const detail = `upstream ${this.req.method} ${this.req.url}: ${err.message}`;
    if (this.clientGone || this.res.destroyed || this.req.destroyed) {
      this.hooks.clientLeft(detail, this.req);
      this.res.destroy();
      return;
    }
    if (this.res.headersSent) {
      // Part of the answer is out: the client must see it cut off, not a 502 inside a 200.
      this.res.destroy(err);
      return;
    }
    echoRequestId(this.req, this.res);
    this.hooks.failed(Object.assign(new Error(detail), { cause: err }), this.req, this.res);
  }
}
