import { hkdfSync } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { PasswordChange } from '../auth/password-change.js';
import type { PasswordChangeRequiredError } from '../directory/errors.js';
import { open, seal } from '../mfa/sealed-box.js';
import type { PendingSignIn } from '../session/session-data.js';
import type { SessionService } from '../session/sessions.js';
import type { AfterPassword, SignInIntent } from './after-password.js';
import type { FormGuard } from './form-guard.js';
import { readNewPassword } from './new-password-form.js';
import type { Pages } from './pages.js';
import { pendingStepFailure, requirePending } from './pending-sign-in.js';

export interface PasswordStepDeps {
  passwordChange: Pick<PasswordChange, 'change'>;
  afterPassword: AfterPassword;
  sessions: Pick<SessionService, 'beginSecondStep' | 'revokeUser' | 'state'>;
  /** GATEWAY_PASSWORD_CHANGE_SIGN_OUT=others: sessions signed in with the old password end. */
  signOutOthers: boolean;
  guard: FormGuard;
  pages: Pages;
  /** GATEWAY_SESSION_SECRET: the key that seals the proven password is derived from it. */
  sessionSecret: string;
  log: Logger;
}

/**
 * The change the directory asks for at sign-in (AD "must change at next logon" or an expired
 * password, ppolicy after a reset or in a grace sign-in): the person proved their password once,
 * chooses a new one here (`/accounts/login/password/`), and goes straight on to the second step or
 * into Paperless. The proven password waits, sealed, in a session that has no user yet.
 */
export function passwordStep(deps: PasswordStepDeps) {
  const { pages, guard, log } = deps;
  const key = Buffer.from(hkdfSync('sha256', deps.sessionSecret, Buffer.alloc(0), 'paperless-ldap-gateway pending password v1', 32));
  const context = (username: string) => `pending password ${username}`;

  async function begin(req: Request, err: PasswordChangeRequiredError, intent: SignInIntent): Promise<void> {
    await deps.sessions.beginSecondStep(req, {
      user: err.user,
      stage: 'change',
      remember: intent.remember,
      ...(intent.next ? { next: intent.next } : {}),
      ...(intent.enrol ? { enrol: intent.enrol } : {}),
      sealedPassword: seal(key, String((req.body as Record<string, unknown>).password), context(err.user.username)),
      changeReason: err.reason,
      ...(err.graceLeft !== undefined ? { graceLeft: err.graceLeft } : {}),
    });
  }

  const router = express.Router();

  function show(req: Request, res: Response, status: number, error?: string): void {
    const pending = res.locals.pending as PendingSignIn;
    pages.render(req, res, status, 'password-change.njk', {
      csrfToken: guard.token(req, res),
      username: pending.user.username,
      expired: pending.changeReason === 'expired',
      graceLeft: pending.graceLeft,
      error,
    });
  }

  const change: RequestHandler = async (req, res, next) => {
    const pending = res.locals.pending as PendingSignIn;
    try {
      const { next: wanted } = readNewPassword(req.body, false);
      const current = open(key, pending.sealedPassword as string, context(pending.user.username));
      await deps.passwordChange.change(pending.user.username, current, wanted, req.ip ?? '', 'sign-in');
      // This browser has no session yet (only the half-done one), so every session of the person is "other".
      if (deps.signOutOthers) await deps.sessions.revokeUser(pending.user.username);
      await deps.afterPassword(req, res, pending.user, { remember: pending.remember, next: pending.next, enrol: pending.enrol }, 'new-password');
    } catch (err) {
      next(err);
    }
  };

  const showFailure = pendingStepFailure(log, show);
  // Only a change begun here carries the proven password.
  const changePending = requirePending(deps.sessions, 'change', (pending) => pending.sealedPassword !== undefined);

  const parseForm = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });
  const showForm: RequestHandler = (req, res) => show(req, res, 200);
  router.get('/accounts/login/password/', changePending, showForm, showFailure);
  router.post('/accounts/login/password/', parseForm, changePending, guard.check, change, showFailure);
  return { router, begin };
}
