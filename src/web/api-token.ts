import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { DirectoryUser } from '../directory/directory.js';
import { InvalidCredentialsError } from '../directory/errors.js';
import { GatewayError } from '../errors.js';
import { refusedSignIn } from '../auth/refused-sign-in.js';
import type { PaperlessUserToken } from '../provisioning/user-token.js';
import type { CredentialCheck } from '../auth/credential-check.js';
import type { TokenOwners } from '../proxy/token-owners.js';

export interface ApiTokenDeps {
  credentials: CredentialCheck;
  tokens: PaperlessUserToken;
  /** Records whose each handed-out token is: its requests are then re-checked against the directory. */
  owners: Pick<TokenOwners, 'record'>;
  log: Logger;
}

/** Paperless's own answer to wrong credentials, which the apps know how to show. */
const WRONG = { non_field_errors: ['Unable to log in with provided credentials.'] };

/**
 * `POST /api/token/`, answered by the gateway the way Paperless answers it,
 * so the mobile apps sign in with the directory password and get the user's
 * own Paperless token.
 */
export function apiTokenRouter(deps: ApiTokenDeps): Router {
  const router = express.Router();

  const parseBody = [express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 }), express.json({ limit: '16kb' })];

  const readCredentials: RequestHandler = (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const { username, password } = body;
    if (typeof username !== 'string' || typeof password !== 'string' || username === '' || password === '') {
      const missing = ['username', 'password'].filter((f) => typeof body[f] !== 'string' || body[f] === '');
      res.status(400).json(Object.fromEntries(missing.map((f) => [f, ['This field is required.']])));
      return;
    }
    res.locals.credentials = { username, password };
    next();
  };

  const checkCredentials: RequestHandler = async (req, res, next) => {
    const { username, password } = res.locals.credentials as { username: string; password: string };
    try {
      res.locals.user = await deps.credentials.verify(username, password, req.ip ?? '', 'api-token');
      next();
    } catch (err) {
      next(err);
    }
  };

  const answerWithToken: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    try {
      const token = await deps.tokens.tokenFor(user.username);
      // Without the record the token is still attributed (Paperless is asked), so a Redis hiccup does not refuse the app.
      await deps.owners.record(token, user.username).catch((err: unknown) => deps.log.warn({ event: 'token.owner_not_recorded', username: user.username, err: String(err) }, 'could not record whose the token is'));
      deps.log.info({ event: 'login.success', via: 'api-token', username: user.username, ip: req.ip }, 'app signed in');
      res.set('Cache-Control', 'no-store').json({ token });
    } catch (err) {
      next(err);
    }
  };

  const answerFailure = (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (!(err instanceof GatewayError)) {
      next(err);
      return;
    }
    const username = (res.locals.credentials as { username?: string } | undefined)?.username;
    res.set(refusedSignIn(deps.log, err, { via: 'api-token', username, ip: req.ip }));
    if (err instanceof InvalidCredentialsError) res.status(400).json(WRONG);
    else if (err.status < 500) res.status(400).json({ non_field_errors: [err.userMessage] });
    else res.status(err.status).json({ detail: err.userMessage });
  };

  router.post('/api/token/', parseBody, readCredentials, checkCredentials, answerWithToken, answerFailure);
  return router;
}
