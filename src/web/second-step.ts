import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { EnrolmentExpiredError } from '../mfa/errors.js';
import type { SecondFactors } from '../mfa/second-factors.js';
import type { PendingSignIn } from '../session/session-data.js';
import type { SessionService } from '../session/sessions.js';
import { withSecondFactor, type Proof } from '../session/sign-in-state.js';
import type { CompleteSignIn } from './complete-sign-in.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { credentialOf } from './webauthn-form.js';
import { pendingStepFailure, requirePending } from './pending-sign-in.js';
import { BadLoginRequestError } from './errors.js';
import type { FormGuard } from './form-guard.js';
import type { Pages } from './pages.js';

export interface SecondStepDeps {
  secondFactors: SecondFactors;
  complete: CompleteSignIn;
  sessions: Pick<SessionService, 'state'>;
  guard: FormGuard;
  pages: Pages;
  /** The "remember this device" cookie (scoped to the sign-in pages). */
  deviceCookie: { name: string; secure: boolean; maxAgeMs?: number };
  log: Logger;
}

interface CodeForm {
  code: string;
  rememberDevice: boolean;
  /** enrol: the sealed secret of the QR code shown. */
  enrolment?: string;
}

/**
 * The second step of a browser sign-in, between the password and the session: a code from the
 * authenticator app or a recovery code (`/accounts/login/verify/`), or, for someone who must have
 * a factor and is allowed to add one now, the enrolment (`/accounts/login/enrol/`). Both live in
 * a session that has no user yet, under the sign-in pages' path and their CSRF cookie.
 */
export function secondStepRouter(deps: SecondStepDeps): Router {
  const { secondFactors, guard, pages, log } = deps;
  const router = express.Router();

  async function showVerify(req: Request, res: Response, status: number, error?: string): Promise<void> {
    const pending = res.locals.pending as PendingSignIn;
    // A fresh challenge on every showing: an answer works once, in this session only.
    const passkeyOptions = await secondFactors.passkeyOptions(pending.user.username, req.sessionID);
    pages.render(req, res, status, 'second-step.njk', {
      csrfToken: guard.token(req, res),
      username: pending.user.username,
      error,
      rememberDevice: secondFactors.remembersDevices,
      passkeyOptions: passkeyOptions ? JSON.stringify(passkeyOptions) : undefined,
    });
  }

  async function showEnrol(req: Request, res: Response, status: number, error?: string): Promise<void> {
    const pending = res.locals.pending as PendingSignIn;
    const sealed = (res.locals.form as CodeForm | undefined)?.enrolment;
    // The same QR code again after a wrong code: the person has scanned it already.
    let enrolment;
    try {
      enrolment = sealed ? await secondFactors.resumeTotp(pending.user.username, req.sessionID, sealed) : undefined;
    } catch (err) {
      if (!(err instanceof EnrolmentExpiredError)) throw err;
    }
    enrolment ??= await secondFactors.beginTotp(pending.user.username, req.sessionID);
    pages.render(req, res, status, 'enrol.njk', { csrfToken: guard.token(req, res), action: '/accounts/login/enrol/', username: pending.user.username, enrolment, error, cancel: '/accounts/logout/' });
  }

  const parseForm = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 });

  const readCode: RequestHandler = (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.code !== 'string' || body.code.trim() === '' || body.code.length > 64) {
      next(new BadLoginRequestError('code missing', 'Enter the code from your authenticator app, or a recovery code.'));
      return;
    }
    const form: CodeForm = { code: body.code, rememberDevice: secondFactors.remembersDevices && body.remember_device === '1' };
    if (typeof body.enrolment === 'string' && body.enrolment.length <= 1024) form.enrolment = body.enrolment;
    res.locals.form = form;
    next();
  };

  const checkCode: RequestHandler = async (req, res, next) => {
    const pending = res.locals.pending as PendingSignIn;
    try {
      res.locals.proof = withSecondFactor(pending.firstFactor, await secondFactors.verify(pending.user.username, (res.locals.form as CodeForm).code, req.ip ?? ''));
      next();
    } catch (err) {
      next(err);
    }
  };

  const readPasskey: RequestHandler = (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      res.locals.credential = credentialOf<AuthenticationResponseJSON>(body.credential);
      res.locals.form = { code: '', rememberDevice: secondFactors.remembersDevices && body.remember_device === '1' } satisfies CodeForm;
      next();
    } catch (err) {
      next(err);
    }
  };

  const checkPasskey: RequestHandler = async (req, res, next) => {
    const pending = res.locals.pending as PendingSignIn;
    try {
      res.locals.proof = withSecondFactor(pending.firstFactor, await secondFactors.verifyPasskey(pending.user.username, req.sessionID, res.locals.credential as AuthenticationResponseJSON, req.ip ?? ''));
      next();
    } catch (err) {
      next(err);
    }
  };

  const finish: RequestHandler = async (req, res, next) => {
    const pending = res.locals.pending as PendingSignIn;
    const form = res.locals.form as CodeForm;
    try {
      const target = await deps.complete(req, pending.user, { remember: pending.remember, proof: res.locals.proof as Proof, next: pending.next });
      if (form.rememberDevice) {
        const value = await secondFactors.rememberDevice(pending.user.username);
        if (value) res.cookie(deps.deviceCookie.name, value, { httpOnly: true, sameSite: 'lax', secure: deps.deviceCookie.secure, path: '/accounts/login/', ...(deps.deviceCookie.maxAgeMs ? { maxAge: deps.deviceCookie.maxAgeMs } : {}) });
      }
      res.redirect(303, target);
    } catch (err) {
      next(err);
    }
  };

  const enrol: RequestHandler = async (req, res, next) => {
    const pending = res.locals.pending as PendingSignIn;
    const form = res.locals.form as CodeForm;
    try {
      const secret = secondFactors.enrolmentSecret(pending.user.username, req.sessionID, form.enrolment ?? '');
      const codes = await secondFactors.confirmTotp(pending.user.username, secret, form.code, req.ip ?? '', { replace: false, ...(pending.link ? { link: pending.link } : {}) });
      const target = await deps.complete(req, pending.user, { remember: pending.remember, proof: withSecondFactor(pending.firstFactor, 'enrolment'), next: pending.next });
      pages.render(req, res, 200, 'recovery-codes.njk', { codes, continueTo: target, fromAccount: false });
    } catch (err) {
      next(err);
    }
  };

  const showFailure = (page: 'verify' | 'enrol') => pendingStepFailure(log, page === 'verify' ? showVerify : showEnrol);

  const show =
    (page: 'verify' | 'enrol'): RequestHandler =>
    (req, res, next) => {
      (page === 'verify' ? showVerify : showEnrol)(req, res, 200).catch(next);
    };

  router.get('/accounts/login/verify/', requirePending(deps.sessions, 'verify'), show('verify'), showFailure('verify'));
  router.post('/accounts/login/verify/', parseForm, requirePending(deps.sessions, 'verify'), readCode, guard.check, checkCode, finish, showFailure('verify'));
  router.post('/accounts/login/verify/passkey', parseForm, requirePending(deps.sessions, 'verify'), readPasskey, guard.check, checkPasskey, finish, showFailure('verify'));
  router.get('/accounts/login/enrol/', requirePending(deps.sessions, 'enrol'), show('enrol'), showFailure('enrol'));
  router.post('/accounts/login/enrol/', parseForm, requirePending(deps.sessions, 'enrol'), readCode, guard.check, enrol, showFailure('enrol'));
  return router;
}
