import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { LoadedSession } from '../session/sessions.js';

/** A proxied request's answer goes back as an HTTP response. */
export interface HttpAnswer {
  kind: 'http';
  res: ServerResponse;
}

/** A websocket upgrade's answer goes back on the raw socket: a refusal, or Paperless's 101. */
export interface UpgradeAnswer {
  kind: 'websocket';
  socket: Socket;
  head: Buffer;
}

/**
 * One proxied request or websocket upgrade as the steps see it: plain Node objects,
 * no framework, because every proxied request passes through here and a framework's routing,
 * request and response wrappers and middleware chain would be paid on each of them.
 */
export interface Exchange {
  req: IncomingMessage;
  /** The path without the query string, of the target Paperless will receive. */
  path: string;
  to: HttpAnswer | UpgradeAnswer;
  session?: LoadedSession;
}

/** What a step decided; the forwarder alone turns it into headers, cookies and an answer. */
export type Decision =
  /** Forwarded as nobody: a public share link, or a token that Paperless judges itself. */
  | { kind: 'anonymous'; reason: 'share' | 'token' }
  /** Forwarded as this user; a session brings Paperless's session from the gateway's jar. */
  | { kind: 'user'; username: string; via: 'session'; session: LoadedSession }
  | { kind: 'user'; username: string; via: 'basic' }
  /** `answer`: the acceptor's mutual-authentication token, for the answer's `WWW-Authenticate`. */
  | { kind: 'user'; username: string; via: 'kerberos'; answer?: string }
  /** Nobody is signed in: pages go to the sign-in form, API calls and websockets get 401. */
  | { kind: 'sign-in' }
  /**
   * `fields`: a refusal of one field of a form Paperless's UI sent, in DRF's `{field: [messages]}`
   * shape, which the UI shows beside that field; otherwise the body is `{detail}`.
   */
  | { kind: 'refuse'; status: 400 | 401 | 403 | 503; detail: string; headers?: Record<string, string | string[]>; fields?: Record<string, string[]> };

/** A step decides, or answers undefined to let the next one look. */
export type Step = (exchange: Exchange) => Decision | undefined | Promise<Decision | undefined>;

export type Transport = Exchange['to']['kind'];

/** A row of the request path's table: a step and the transports it runs for. */
export interface Row {
  step: Step;
  on: readonly Transport[];
}

export const HTTP_AND_WEBSOCKET: readonly Transport[] = ['http', 'websocket'];

/**
 * Runs the rows meant for `transport` in order until one decides, then hands the decision to
 * `apply`; a thrown error or a rejected step goes to `fail`. Synchronous steps run in one loop:
 * a request whose session is cached never creates a promise.
 */
export function runSteps(
  rows: readonly Row[],
  transport: Transport,
  apply: (exchange: Exchange, decision: Decision) => void,
  fail: (exchange: Exchange, err: unknown) => void,
): (exchange: Exchange) => void {
  const steps = rows.filter((row) => row.on.includes(transport)).map((row) => row.step);
  const decided = (exchange: Exchange, decision: Decision): void => {
    try {
      apply(exchange, decision);
    } catch (err) {
      fail(exchange, err);
    }
  };
  const run = (exchange: Exchange, from: number): void => {
    try {
      for (let i = from; i < steps.length; i++) {
        const outcome = (steps[i] as Step)(exchange);
        if (outcome === undefined) continue;
        if (!(outcome instanceof Promise)) return decided(exchange, outcome);
        outcome.then(
          (decision) => (decision === undefined ? run(exchange, i + 1) : decided(exchange, decision)),
          (err: unknown) => fail(exchange, err),
        );
        return;
      }
    } catch (err) {
      fail(exchange, err);
      return;
    }
    fail(exchange, new Error(`no step decided on ${transport} ${exchange.req.method} ${exchange.path}`));
  };
  return (exchange) => run(exchange, 0);
}

/** Whether a request announces a body (a length above zero, or chunks). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { Location: location, 'Content-Length': 0, 'Cache-Control': 'no-store' });
  res.end();
}
