import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pathOf } from '../url-path.js';

/**
 * Puts the request's id on an answer the gateway writes itself. Proxied answers carry it in the
 * headers they are written with: a header set before writeHead makes Node merge every one of
 * Paperless's headers one by one (about 2 µs a request).
 */
export function echoRequestId(req: IncomingMessage, res: ServerResponse): void {
  const id = req.headers['x-request-id'];
  if (typeof id === 'string' && !res.headersSent) res.setHeader('X-Request-Id', id);
}

/**
 * One id per request, in the response (see echoRequestId), passed on to Paperless as
 * X-Request-Id (a client's own is replaced) and in the access log line.
 * The line holds no headers and no query string: cookies, tokens and share
 * keys stay out of the log, and it costs little on the proxied path.
 */
export function requestIdAndAccessLog(log: Logger, logRequests: boolean): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const id = randomUUID();
    req.headers['x-request-id'] = id;
    const url = req.url ?? '/';
    if (logRequests && !url.startsWith('/_gateway/')) {
      const started = performance.now();
      // 'close' comes once per response; `on` spares the once-wrapper and its removal on every request.
      res.on('close', () => {
        const line = { reqId: id, method: req.method, path: pathOf(url), status: res.statusCode, ms: Math.round(performance.now() - started) };
        if (!res.writableFinished) log.warn(line, 'request aborted before its response was sent');
        else if (res.statusCode >= 500) log.warn(line, 'request completed');
        else log.info(line, 'request completed');
      });
    }
  };
}
