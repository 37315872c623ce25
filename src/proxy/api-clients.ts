import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { DirectoryUser } from '../directory/directory.js';
import { InvalidCredentialsError } from '../directory/errors.js';
import { BannedError } from '../regulation/regulation.js';
import type { SessionService } from '../session/sessions.js';
import type { BasicAuthCache } from './basic-auth-cache.js';
import { isApiPath } from './pipeline.js';

export interface ApiClientDeps {
  sessions: SessionService;
  verify: (username: string, password: string, ip: string) => Promise<DirectoryUser>;
  /** Undefined when GATEWAY_API_BASIC_AUTH is off. */
  basicCache?: BasicAuthCache;
  /** Forwards without identity and without the browser's Paperless session. */
  forwardAnonymous: RequestHandler;
  /** Sets the identity header (and forwarding headers) for a user, then forwards. */
  forwardAs: (req: IncomingMessage, res: Response, username: string) => void;
  log: Logger;
}

function basicCredentials(header: string): { username: string; password: string } | undefined {
  const encoded = header.slice(6).trim();
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * API clients without a gateway session (mobile apps, scripts): a Paperless
 * token is passed through for Paperless to judge; Basic credentials are
 * checked against the directory here and replaced by the identity header.
 * Anything else falls through to "require login" (401 JSON).
 */
export function createApiClientStep(deps: ApiClientDeps): RequestHandler {
  const basic = async (req: Request, res: Response, header: string): Promise<void> => {
    const creds = basicCredentials(header);
    delete req.headers.authorization; // it must never reach Paperless, whatever happens next
    const refuse = (detail: string) => {
      res.status(401).set('WWW-Authenticate', 'Basic realm="Paperless", charset="UTF-8"').json({ detail });
    };
    if (!creds) {
      refuse('Invalid basic header. Credentials not correctly base64 encoded.');
      return;
    }
    let username = deps.basicCache?.get(creds.username, creds.password);
    if (!username) {
      try {
        username = (await deps.verify(creds.username, creds.password, req.ip ?? '')).username;
      } catch (err) {
        if (err instanceof InvalidCredentialsError) {
          deps.log.info({ event: 'login.failure', via: 'basic', reason: err.name, detail: err.message, username: creds.username, ip: req.ip }, 'basic sign-in failed');
          if (err instanceof BannedError) res.set('Retry-After', String(err.retryAfterSeconds));
          refuse('Invalid username/password.');
          return;
        }
        throw err;
      }
      deps.basicCache?.set(creds.username, creds.password, username);
    }
    deps.forwardAs(req, res, username);
  };

  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (!isApiPath(req.path) || (await deps.sessions.current(req))) {
        next();
        return;
      }
      const authorization = req.headers.authorization ?? '';
      if (/^Token\s+\S/i.test(authorization)) {
        deps.forwardAnonymous(req, res, next);
        return;
      }
      if (/^Basic\s/i.test(authorization) && deps.basicCache) {
        await basic(req, res, authorization);
        return;
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}
