import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoadedSession } from '../session/sessions.js';
import { pathOf } from '../url-path.js';

/**
 * One proxied request as the pipeline's steps see it: plain Node objects,
 * no framework (Express on this path cost two thirds of the throughput).
 */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  /** The path without the query string. */
  path: string;
  session?: LoadedSession;
}

/** A step answers true to let the next one run, false once it has answered the request itself. */
export type Step = (x: Exchange) => boolean | Promise<boolean>;

/**
 * Runs the steps in order; a thrown error or a rejected step goes to `onError`
 * (which answers with the right page). Synchronous steps run in one loop: a
 * request whose session is cached never creates a promise.
 */
export function runSteps(steps: readonly Step[], onError: (err: unknown, x: Exchange) => void): (req: IncomingMessage, res: ServerResponse) => void {
  const run = (x: Exchange, from: number): void => {
    try {
      for (let i = from; i < steps.length; i++) {
        const goOn = (steps[i] as Step)(x);
        if (goOn === true) continue;
        if (goOn === false) return;
        goOn.then(
          (next) => next && run(x, i + 1),
          (err: unknown) => onError(err, x),
        );
        return;
      }
    } catch (err) {
      onError(err, x);
    }
  };
  return (req, res) => run({ req, res, path: pathOf(req.url) }, 0);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

export function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { Location: location, 'Content-Length': 0, 'Cache-Control': 'no-store' });
  res.end();
}
