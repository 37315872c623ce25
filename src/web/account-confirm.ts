import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { RequestHandler } from 'express';
import type { DirectoryUser } from '../directory/directory.js';
import type { LoadedSession } from '../session/sessions.js';
import { ACCOUNT_PATH, CONFIRM_PATH, type AccountContext, type AccountDeps, type AccountPage } from './account-context.js';
import { BadLoginRequestError } from './errors.js';
import { credentialOf } from './webauthn-form.js';

/** Where "confirm it's you" may send the person back to: a page of the account section, never elsewhere. */
const ACCOUNT_PAGE = /^\/accounts\/security\/(?:[a-z0-9-]+\/)*$/;

/** The directory password given to confirm it's them: refused in words when missing, else checked (regulated). */
export async function checkConfirmingPassword(deps: Pick<AccountDeps, 'credentials'>, username: string, password: unknown, ip: string, where: string): Promise<void> {
  if (typeof password !== 'string' || password === '' || password.length > 1024) throw new BadLoginRequestError(`password missing on ${where}`, 'Enter your password to confirm.');
  await deps.credentials.checkPassword(username, password, ip, 'form');
}

/** Opens the session's step-up window, with its audit line. */
export async function openWindow(deps: Pick<AccountDeps, 'stepUp' | 'log'>, username: string, sid: string, via: string, ip: string | undefined): Promise<void> {
  const until = await deps.stepUp.open(username, sid);
  deps.log.info({ event: 'step_up.opened', username, via, ip, until: new Date(until).toISOString() }, 'confirmed for account changes');
}

export function confirmTarget(value: unknown): string {
  return typeof value === 'string' && ACCOUNT_PAGE.test(value) && value !== CONFIRM_PATH ? value : ACCOUNT_PATH;
}

/**
 * "Confirm it's you": the password, a code of the person's authenticator app or one of their
 * passkeys opens the session's step-up window (session/step-up.ts); then back to the page the
 * person came for, by GET: an action that led here is never replayed. Regulated and audited as a
 * sign-in is (the password's and the second step's own counters).
 */
export function confirmRoutes(ctx: AccountContext): void {
  const { deps, router, tokenFor, requireSession, parseForm, checkForm, showFailure } = ctx;
  const { pages } = deps;

  const showConfirm: AccountPage = async (req, res, status, error) => {
    const user = res.locals.user as DirectoryUser;
    const session = res.locals.session as LoadedSession;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = confirmTarget(req.method === 'POST' ? body.next : req.query.next);
    const factors = deps.secondFactors ? await deps.secondFactors.status(user) : undefined;
    // A fresh challenge on every showing, kept under this session: an answer works once, here only.
    const passkeyOptions = deps.secondFactors ? await deps.secondFactors.passkeyOptions(user.username, session.sid, 'step-up') : undefined;
    pages.render(req, res, status, 'confirm.njk', {
      csrfToken: tokenFor(session),
      username: user.username,
      next,
      withCode: factors?.totpAddedAt !== undefined,
      passkeyOptions: passkeyOptions ? JSON.stringify(passkeyOptions) : undefined,
      minutes: Math.round(deps.stepUp.windowMs / 60_000),
      error,
    });
  };

  const show: RequestHandler = async (req, res, next) => {
    try {
      const user = res.locals.user as DirectoryUser;
      const session = res.locals.session as LoadedSession;
      // Already confirmed (a second tab, the back button): nothing to ask.
      if (await deps.stepUp.openUntil(user.username, session.sid)) res.redirect(303, confirmTarget(req.query.next));
      else await showConfirm(req, res, 200);
    } catch (err) {
      next(err);
    }
  };

  const confirm: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const session = res.locals.session as LoadedSession;
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      let via: string;
      if (typeof body.code === 'string' && body.code.trim() !== '' && deps.secondFactors) {
        if (body.code.length > 64) throw new BadLoginRequestError('code too long on the confirm page', 'Enter the code your authenticator app shows.');
        // The app's code only: a recovery code is for a lost phone at sign-in, not to be spent here.
        via = await deps.secondFactors.verify(user.username, body.code, req.ip ?? '', { totpOnly: true });
      } else {
        await checkConfirmingPassword(deps, user.username, body.password, req.ip ?? '', 'the confirm page');
        via = 'password';
      }
      await openWindow(deps, user.username, session.sid, via, req.ip);
      res.redirect(303, confirmTarget(body.next));
    } catch (err) {
      next(err);
    }
  };

  /** One of the person's passkeys, answering this session's challenge; regulated as the second step is. */
  const confirmPasskey: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const session = res.locals.session as LoadedSession;
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      if (!deps.secondFactors) throw new BadLoginRequestError('passkey confirm while second factors are off', 'Enter your password to confirm.');
      const credential = credentialOf<AuthenticationResponseJSON>(body.credential);
      const via = await deps.secondFactors.verifyPasskey(user.username, session.sid, credential, req.ip ?? '', 'step-up');
      await openWindow(deps, user.username, session.sid, via, req.ip);
      res.redirect(303, confirmTarget(body.next));
    } catch (err) {
      next(err);
    }
  };

  router.get(CONFIRM_PATH, requireSession, show, showFailure(showConfirm));
  router.post(CONFIRM_PATH, requireSession, parseForm, checkForm, confirm, showFailure(showConfirm));
  router.post(`${CONFIRM_PATH}passkey`, requireSession, parseForm, checkForm, confirmPasskey, showFailure(showConfirm));
}
