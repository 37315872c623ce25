import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { RequestHandler } from 'express';
import type { DirectoryUser } from '../directory/directory.js';
import type { LoadedSession } from '../session/sessions.js';
import type { SecondFactors } from '../mfa/second-factors.js';
import { ACCOUNT_PATH, ACCOUNT_VIEWS, AccountActionError, doneAt, type AccountContext, type AccountPage } from './account-context.js';
import { credentialOf } from './webauthn-form.js';

/** The account page's second factors: the authenticator app, recovery codes, passkeys. */
export function factorRoutes(ctx: AccountContext): void {
  const { deps, router, tokenFor, requireSession, requireMfa, parseForm, checkForm, confirmed, page, showView, showFailure } = ctx;
  const { pages } = deps;

  const showEnrol: AccountPage = async (req, res, status, error) => {
    const factors = deps.secondFactors as SecondFactors;
    const user = res.locals.user as DirectoryUser;
    const session = res.locals.session as LoadedSession;
    const sealed = ((req.body ?? {}) as Record<string, unknown>).enrolment;
    let enrolment;
    if (typeof sealed === 'string' && error !== undefined) enrolment = await factors.resumeTotp(user.username, session.sid, sealed).catch(() => undefined);
    enrolment ??= await factors.beginTotp(user.username, session.sid);
    pages.render(req, res, status, 'enrol.njk', { csrfToken: tokenFor(session), action: `${ACCOUNT_PATH}totp/`, username: user.username, enrolment, error, cancel: ACCOUNT_VIEWS.authenticator.path });
  };

  const confirmTotp: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const session = res.locals.session as LoadedSession;
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      const factors = deps.secondFactors as SecondFactors;
      const secret = factors.enrolmentSecret(user.username, session.sid, typeof body.enrolment === 'string' ? body.enrolment : '');
      const codes = await factors.confirmTotp(user.username, secret, typeof body.code === 'string' ? body.code : '', req.ip ?? '', { replace: true });
      pages.render(req, res, 200, 'recovery-codes.njk', { codes, continueTo: ACCOUNT_VIEWS.authenticator.path, fromAccount: true });
    } catch (err) {
      next(err);
    }
  };

  const removeTotp: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    try {
      await (deps.secondFactors as SecondFactors).removeTotp(user);
      res.redirect(303, doneAt('authenticator', 'removed'));
    } catch (err) {
      next(err);
    }
  };

  const newRecoveryCodes: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    try {
      const factors = deps.secondFactors as SecondFactors;
      if ((await factors.status(user)).totpAddedAt === undefined) throw new AccountActionError(`${user.username} has no factor for recovery codes`, 'Set up an authenticator app first; recovery codes come with it.');
      const codes = await factors.newRecoveryCodes(user.username);
      pages.render(req, res, 200, 'recovery-codes.njk', { codes, continueTo: ACCOUNT_VIEWS['recovery-codes'].path, fromAccount: true });
    } catch (err) {
      next(err);
    }
  };

  /** After the password: the browser is asked to make a passkey (webauthn.js), then posts it back. */
  const passkeyOptions: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const session = res.locals.session as LoadedSession;
    const name = ((req.body ?? {}) as Record<string, unknown>).name;
    try {
      const options = await (deps.secondFactors as SecondFactors).passkeyRegistrationOptions(user.username, session.sid);
      pages.render(req, res, 200, 'passkey-new.njk', { csrfToken: tokenFor(session), name: typeof name === 'string' ? name.trim().slice(0, 60) : '', options: JSON.stringify(options) });
    } catch (err) {
      next(err);
    }
  };

  const addPasskey: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const session = res.locals.session as LoadedSession;
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      // The browser's answer comes after passkeys/new, inside the window; the window may have
      // ended meanwhile (its time, or a factor or the password changed elsewhere). Refused, not
      // sent to the step-up: going there would throw the made passkey away anyway.
      if (!(await deps.stepUp.openUntil(user.username, session.sid))) throw new AccountActionError(`passkey answer of ${user.username} after the step-up window ended`, 'Your confirmation ran out before the passkey was made. Confirm again, then add the passkey.');
      const codes = await (deps.secondFactors as SecondFactors).addPasskey(user.username, session.sid, typeof body.name === 'string' ? body.name : '', credentialOf<RegistrationResponseJSON>(body.credential), req.ip ?? '');
      if (codes) pages.render(req, res, 200, 'recovery-codes.njk', { codes, continueTo: ACCOUNT_VIEWS.passkeys.path, fromAccount: true });
      else res.redirect(303, doneAt('passkeys', 'passkey-added'));
    } catch (err) {
      next(err);
    }
  };

  const removePasskey: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const id = ((req.body ?? {}) as Record<string, unknown>).id;
    try {
      const removed = typeof id === 'string' && (await (deps.secondFactors as SecondFactors).removePasskey(user, id));
      if (!removed) throw new AccountActionError(`no passkey ${String(id)} of ${user.username}`, 'That passkey does not exist (any more).');
      res.redirect(303, doneAt('passkeys', 'passkey-removed'));
    } catch (err) {
      next(err);
    }
  };


  router.get(`${ACCOUNT_PATH}totp/`, requireMfa, requireSession, confirmed, page(showEnrol), showFailure(showView('authenticator')));
  router.post(`${ACCOUNT_PATH}totp/`, requireMfa, requireSession, parseForm, checkForm, confirmed, confirmTotp, showFailure(showEnrol));
  router.post(`${ACCOUNT_PATH}totp/remove`, requireMfa, requireSession, parseForm, checkForm, confirmed, removeTotp, showFailure(showView('authenticator')));
  router.post(`${ACCOUNT_PATH}recovery-codes`, requireMfa, requireSession, parseForm, checkForm, confirmed, newRecoveryCodes, showFailure(showView('recovery-codes')));
  router.post(`${ACCOUNT_PATH}passkeys/new`, requireMfa, requireSession, parseForm, checkForm, confirmed, passkeyOptions, showFailure(showView('passkeys')));
  router.post(`${ACCOUNT_PATH}passkeys/`, requireMfa, requireSession, parseForm, checkForm, addPasskey, showFailure(showView('passkeys')));
  router.post(`${ACCOUNT_PATH}passkeys/remove`, requireMfa, requireSession, parseForm, checkForm, confirmed, removePasskey, showFailure(showView('passkeys')));
}
