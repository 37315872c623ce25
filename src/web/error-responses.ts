import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import { isApiPath, pathOf } from '../url-path.js';
import type { Pages } from './pages.js';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Not allowed',
  404: 'Not found',
  413: 'Request too large',
  500: 'Something went wrong',
  502: 'Paperless is unreachable',
  503: 'Service unavailable',
};

function wantsJson(req: IncomingMessage): boolean {
  return isApiPath(pathOf(req.url)) || (req.headers.accept ?? '').includes('application/json');
}

/** Sends one error to a browser (HTML page) or an API client (JSON `{detail}` like Paperless). */
export function sendError(pages: Pages, req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (wantsJson(req)) {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', 'no-store');
    res.end(JSON.stringify({ detail: message }));
    return;
  }
  pages.error(req, res, status, TITLES[status] ?? TITLES[status >= 500 ? 500 : 400] ?? 'Error', message);
}

interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
}

export type FailureHandler = (err: unknown, req: IncomingMessage, res: ServerResponse) => void;

/** Answers a failed request: a GatewayError with its own status and message, a client mistake with 4xx, anything else 500. */
export function failureHandler(pages: Pages, log: Logger): FailureHandler {
  return (err, req, res) => {
    const path = pathOf(req.url);
    if (err instanceof GatewayError) {
      log.warn({ err: err.message, kind: err.name, path }, 'request failed');
      sendError(pages, req, res, err.status, err.userMessage);
      return;
    }
    // body-parser and friends mark client mistakes with a 4xx status.
    const e = err as HttpishError;
    const status = e.status ?? e.statusCode;
    if (status && status >= 400 && status < 500) {
      const message = e.type === 'entity.too.large' ? 'The request body is too large.' : 'The request could not be read.';
      sendError(pages, req, res, status, message);
      return;
    }
    log.error({ err, path }, 'unexpected error');
    sendError(pages, req, res, 500, 'The gateway hit an unexpected error. It has been logged.');
  };
}

/** The same for Express routes. */
export function errorHandler(handle: FailureHandler): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => handle(err, req, res);
}
