import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import { HandshakeTimeoutError } from './handshake-timeout.js';

/** Headers of Paperless's answer that belong to its hop; `connection` and `upgrade` of a 101 are written anew. */
const ANSWER_HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export interface HandshakeHooks<Owner> {
  setCookies(lines: string[], owner: Owner | undefined): string[];
  /** Paperless failed (no connection, no answer in time) and the browser is still there. */
  failed(err: Error, req: IncomingMessage, socket: Socket): void;
  /** The browser left before Paperless answered; Paperless's side has been aborted. */
  clientLeft(detail: string, req: IncomingMessage): void;
}

/** Why a handshake may be tried again: Channels denied it (403), or the denial never came. */
export type RetryReason = 'refused' | 'no answer';

/** What the caller of one handshake learns about it. */
export interface HandshakeAttempt {
  /** Called once when the exchange with Paperless is over (upgraded, refused, failed or abandoned), unless `retry` is called instead. */
  finished?(): void;
  /**
   * When set, a 403 from Paperless (its refusal when it knows no session for the user) or a
   * handshake that times out is not passed to the browser: this is called instead, once
   * Paperless's side is done, and the caller may try again. The browser's socket is untouched.
   */
  retry?(reason: RetryReason): void;
}

/**
 * One websocket handshake to Paperless on undici, the same pool as plain requests: Paperless's
 * 101 is written to the browser and the two sockets are piped both ways; any other answer (a
 * refusal) goes to the browser as it came, then the socket closes. The handshake's own headers
 * timeout bounds the wait: Paperless's server (granian 2.5.4) never answers a handshake that
 * Channels denies, and each such wait holds a socket of the pool.
 *
 * Why not http-proxy-3, which carried websockets before: it speaks through Node's HTTP client,
 * whose requests and client-side answers share Node's HTTP functions with the server's. After a
 * few thousand websockets V8 had re-optimized those functions for both kinds of object, and every
 * proxied request paid for it afterwards (test/bench/HISTORY.md, "After heavy use").
 */
export class Handshake<Owner> implements Dispatcher.DispatchHandler {
  private controller?: Dispatcher.DispatchController;
  private settled = false;
  /** The browser's socket is half-open: leaving shows as 'end' long before any 'close'. */
  private readonly left = () => {
    if (this.settled) return;
    this.settle();
    this.discarding = false;
    this.controller?.abort(new Error('the client left during the handshake'));
    this.hooks.clientLeft(`upstream ${this.req.method} ${this.req.url}: the client left during the handshake`, this.req);
    this.socket.destroy();
    this.finish();
  };
  private waitingForDrain = false;
  /** Paperless's refusal has been passed on whole, or has failed. */
  private answered = false;
  /** A refusal being read to its end before the caller tries again; nothing of it reaches the browser. */
  private discarding = false;
  private over = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly socket: Socket,
    private readonly head: Buffer,
    private readonly hooks: HandshakeHooks<Owner>,
    private readonly owner: Owner | undefined,
    private readonly timeoutMs: number,
    private readonly attempt: HandshakeAttempt = {},
  ) {
    socket.once('end', this.left);
    socket.once('close', this.left);
  }

  /** The exchange with Paperless is over: the caller's count of handshakes in flight goes down once. */
  private finish(): void {
    if (this.over) return;
    this.over = true;
    this.attempt.finished?.();
  }

  /** Paperless's side is done and the caller tries again instead (see HandshakeAttempt.retry). */
  private handBack(reason: RetryReason): void {
    if (this.over) return;
    this.over = true;
    this.settle();
    (this.attempt.retry as (reason: RetryReason) => void)(reason);
  }

  private settle(): void {
    this.settled = true;
    this.socket.off('end', this.left);
    this.socket.off('close', this.left);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) controller.abort(new Error('the client left during the handshake'));
  }

  onRequestUpgrade(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, upstream: Duplex): void {
    if (this.settled) {
      upstream.destroy();
      return;
    }
    this.settle();
    // The upgraded socket has left undici's pool: the handshake no longer holds a place in it.
    this.finish();
    const { socket } = this;
    const upgrade = headers.upgrade;
    socket.write(`${statusLine(statusCode)}Connection: Upgrade\r\nUpgrade: ${Array.isArray(upgrade) ? upgrade.join(', ') : (upgrade ?? 'websocket')}\r\n${this.headerLines(headers)}\r\n`);
    // What the browser sent after its handshake (its first frames) belongs to Paperless.
    if (this.head.length > 0) upstream.write(this.head);
    // An idle websocket is not a stalled request: no timeout on the browser's socket.
    socket.setTimeout(0);
    upstream.on('error', () => socket.destroy());
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.pipe(socket).pipe(upstream);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode < 200) return;
    if (this.settled) {
      controller.abort(new Error('the client left during the handshake'));
      return;
    }
    if (statusCode === 403 && this.attempt.retry) {
      // Read to its end (often empty), so the connection goes back to the pool; the browser still waits.
      this.discarding = true;
      return;
    }
    this.settle();
    // Paperless refused the socket: the browser gets that answer, and the connection ends with it.
    this.socket.write(`${statusLine(statusCode, statusMessage)}${this.headerLines(headers)}Connection: close\r\n\r\n`);
    // A browser gone mid-answer must not leave Paperless's side paused for good (no drain will come).
    this.socket.once('close', () => {
      if (!this.answered) controller.abort(new Error('the client left during the answer'));
    });
  }

  /** Backpressure as the request Exchange does it: copied, not shared, so that hot code meets only its own objects. */
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.discarding) return;
    if (this.socket.write(chunk) || this.waitingForDrain) return;
    this.waitingForDrain = true;
    controller.pause();
    this.socket.once('drain', () => {
      this.waitingForDrain = false;
      controller.resume();
    });
  }

  onResponseEnd(): void {
    this.answered = true;
    if (this.discarding) {
      this.discarding = false;
      this.handBack('refused');
      return;
    }
    this.socket.end();
    this.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.answered = true;
    if (this.discarding) {
      this.discarding = false;
      this.handBack('refused');
      return;
    }
    if (this.settled) {
      // The browser left (logged then), or part of a refusal is out: the browser sees it cut off.
      this.socket.destroy();
      this.finish();
      return;
    }
    const timedOut = (err as { code?: unknown }).code === 'UND_ERR_HEADERS_TIMEOUT';
    // undici has destroyed Paperless's socket already: the pool has its place back.
    if (timedOut && this.attempt.retry) {
      this.handBack('no answer');
      return;
    }
    this.settle();
    const detail = `upstream ${this.req.method} ${this.req.url}: `;
    const failure = timedOut
      ? new HandshakeTimeoutError(`${detail}no answer to the websocket handshake within ${this.timeoutMs} ms (Paperless never answers a handshake it denies)`, { cause: err })
      : Object.assign(new Error(`${detail}${err.message}`), { cause: err });
    this.finish();
    this.hooks.failed(failure, this.req, this.socket);
  }

  /** Paperless's headers but its hop's, each line ending in CRLF; Set-Cookie filtered for the browser. */
  private headerLines(headers: IncomingHttpHeaders): string {
    let lines = '';
    for (const name in headers) {
      if (ANSWER_HOP_HEADERS.has(name)) continue;
      const value = headers[name];
      if (value === undefined) continue;
      const values = name === 'set-cookie' ? this.hooks.setCookies(Array.isArray(value) ? value : [value], this.owner) : Array.isArray(value) ? value : [value];
      for (const one of values) lines += `${name}: ${one}\r\n`;
    }
    return lines;
  }
}

function statusLine(statusCode: number, statusMessage?: string): string {
  return `HTTP/1.1 ${statusCode} ${statusMessage || (STATUS_CODES[statusCode] ?? '')}\r\n`;
}
