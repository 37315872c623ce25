import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoadedSession } from '../session/sessions.js';

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

export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

/** Runs the steps in order; a thrown error goes to `onError` (which answers with the right page). */
export function runSteps(steps: readonly Step[], onError: (err: unknown, x: Exchange) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const x: Exchange = { req, res, path: pathOf(req.url) };
    void (async () => {
      for (const step of steps) {
        let goOn = step(x);
        // Most steps are synchronous: no promise, no extra tick.
        if (typeof goOn !== 'boolean') goOn = await goOn;
        if (!goOn) return;
      }
    })().catch((err: unknown) => onError(err, x));
  };
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
