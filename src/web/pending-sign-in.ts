import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { refusedSignIn } from '../auth/refused-sign-in.js';
import { GatewayError } from '../errors.js';
import type { PendingSignIn } from '../session/session-data.js';
import type { SessionService } from '../session/sessions.js';

/** The half-done sign-in is missing, stale or of another stage: back to the password form, which says why. */
export class SignInRestartError extends GatewayError {
  readonly status = 400;
  constructor(detail: string) {
    super(detail, 'Your sign-in took too long or was interrupted. Please sign in again.');
  }
}

/** A step of a half-done sign-in: puts it in `res.locals.pending`, or restarts the sign-in. */
export function requirePending(sessions: Pick<SessionService, 'state'>, stage: PendingSignIn['stage'], complete: (pending: PendingSignIn) => boolean = () => true): RequestHandler {
  return (req, res, next) => {
    const state = sessions.state(req);
    const pending = state.level === 'password' && state.pending.stage === stage ? state.pending : undefined;
    if (!pending || !complete(pending)) {
      next(new SignInRestartError(`no pending ${stage} step in this session`));
      return;
    }
    res.locals.pending = pending;
    next();
  };
}

/**
 * Any refusal on such a step: audited like a refused sign-in, then the step's page again with the
 * reason, or the password form when there is no half-done sign-in to go on with.
 */
export function pendingStepFailure(log: Logger, show: (req: Request, res: Response, status: number, error: string) => Promise<void> | void) {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (!(err instanceof GatewayError)) {
      next(err);
      return;
    }
    const pending = res.locals.pending as PendingSignIn | undefined;
    res.set(refusedSignIn(log, err, { via: 'form', username: pending?.user.username, ip: req.ip }));
    if (err instanceof SignInRestartError || !pending) {
      res.redirect(303, '/accounts/login/?restart=1');
      return;
    }
    Promise.resolve(show(req, res, err.status, err.userMessage)).catch(next);
  };
}
