import Bowser from 'bowser';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { CredentialCheck } from '../auth/credential-check.js';
import { refusedSignIn } from '../auth/refused-sign-in.js';
import { isAllowed } from '../directory/allowed-groups.js';
import type { Directory, DirectoryUser } from '../directory/directory.js';
import { GatewayError } from '../errors.js';
import type { AppPasswords } from '../mfa/app-passwords.js';
import type { SecondFactors } from '../mfa/second-factors.js';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { credentialOf } from './webauthn-form.js';
import { readNewPassword } from './new-password-form.js';
import { EXPIRY_NOTICE_PATH } from './complete-sign-in.js';
import { safeNextPath } from './next-path.js';
import type { PasswordChange } from '../auth/password-change.js';
import type { LoadedSession, SessionService } from '../session/sessions.js';
import { BadLoginRequestError, LoginFormExpiredError } from './errors.js';
import { foreignOrigin } from './form-guard.js';
import type { LoginCsrf } from './login-csrf.js';
import { sendError } from './error-responses.js';
import type { Pages } from './pages.js';

export interface AccountDeps {
  sessions: Pick<SessionService, 'lookup' | 'list' | 'revoke'>;
  directory: Pick<Directory, 'lookup'>;
  /** GATEWAY_LDAP_ALLOWED_GROUPS: someone who left them is signed out here too. */
  allowedGroups: readonly string[];
  credentials: Pick<CredentialCheck, 'checkPassword'>;
  /** Undefined while GATEWAY_MFA is off. */
  secondFactors?: SecondFactors;
  /** Undefined while GATEWAY_MFA is off. */
  appPasswords?: AppPasswords;
  /** Undefined while GATEWAY_PASSWORD_CHANGE is off. */
  passwords?: {
    change: PasswordChange['change'];
    /** GATEWAY_PASSWORD_CHANGE_SIGN_OUT=others. */
    signOutOthers: boolean;
    /** Drops this process's cached Basic check of the old password (others age out). */
    forgetBasic: (username: string, password: string) => void;
  };
  /** Signs out every app holding the person's Paperless token (a new one is made). */
  rotatePaperlessToken: (username: string) => Promise<void>;
  csrf: LoginCsrf;
  pages: Pages;
  publicUrl: URL;
  log: Logger;
}

export const ACCOUNT_PATH = '/accounts/security/';

/** "Firefox on Windows", from a User-Agent; what a person recognises their devices by. */
export function describeBrowser(userAgent: string | undefined): string | undefined {
  if (!userAgent) return undefined;
  const parsed = Bowser.parse(userAgent);
  const browser = parsed.browser.name;
  const os = parsed.os.name;
  return browser && os ? `${browser} · ${os}` : (browser ?? os ?? userAgent.slice(0, 60));
}

/** The account page's own refusals (a factor the policy requires cannot be removed). */
class AccountActionError extends GatewayError {
  readonly status = 409;
}

const NOTICES: Record<string, string> = {
  removed: 'The authenticator app was removed.',
  'app-revoked': 'The app password was revoked.',
  'passkey-added': 'The passkey was added.',
  'passkey-removed': 'The passkey was removed.',
  'session-ended': 'That session is signed out.',
  'password-changed': 'Your password was changed.',
  'password-changed-others': 'Your password was changed, and your other sessions are signed out.',
  'others-ended': 'Every other session is signed out.',
  'app-revoked-token': 'The app password was revoked, and the apps it signed in are signed out. Apps that use other app passwords must sign in again.',
};

/**
 * The person's own page: their second factors and recovery codes. It reads the session the way
 * the request path does (lifetime, revocation), not through express-session, and every change
 * asks for the directory password again (a borrowed, unlocked browser must not be enough to
 * replace someone's factors). Forms carry a token bound to the session id.
 */
export function accountRouter(deps: AccountDeps): Router {
  const { pages, log } = deps;
  const router = express.Router();
  const tokenFor = (session: LoadedSession) => deps.csrf.tokenFor(`account:${session.sid}`);
  // Pages name other sessions by a keyed handle, never by their id.
  const handleOf = (sid: string) => deps.csrf.tokenFor(`session-handle:${sid}`).slice(0, 22);

  const requireSession: RequestHandler = async (req, res, next) => {
    try {
      const session = await deps.sessions.lookup(req.headers.cookie);
      if (!session) {
        res.redirect(303, `/accounts/login/?next=${encodeURIComponent(req.originalUrl.split('?')[0] ?? ACCOUNT_PATH)}`);
        return;
      }
      const user = await deps.directory.lookup(session.user.username);
      if (!user || !isAllowed(user, deps.allowedGroups)) {
        res.redirect(303, '/accounts/logout/');
        return;
      }
      res.locals.session = session;
      res.locals.user = user;
      next();
    } catch (err) {
      next(err);
    }
  };

  const parseForm = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 });

  const checkForm: RequestHandler = (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const origin = foreignOrigin(req, deps.publicUrl);
    if (origin !== undefined) {
      next(new LoginFormExpiredError(`account form posted from foreign origin ${origin}`));
      return;
    }
    if (!deps.csrf.verify(`account:${(res.locals.session as LoadedSession).sid}`, body._csrf)) {
      next(new LoginFormExpiredError('account form CSRF token missing or wrong'));
      return;
    }
    next();
  };

  /** Every change proves the password again. */
  const checkPassword: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const password = ((req.body ?? {}) as Record<string, unknown>).password;
    if (typeof password !== 'string' || password === '' || password.length > 1024) {
      next(new BadLoginRequestError('password missing on the account page', 'Enter your password to confirm.'));
      return;
    }
    try {
      await deps.credentials.checkPassword(user.username, password, req.ip ?? '', 'form');
      next();
    } catch (err) {
      next(err);
    }
  };

  async function showAccount(req: Request, res: Response, status: number, error?: string): Promise<void> {
    const user = res.locals.user as DirectoryUser;
    const notice = typeof req.query.done === 'string' ? NOTICES[req.query.done] : undefined;
    pages.render(req, res, status, 'account.njk', {
      username: user.username,
      csrfToken: tokenFor(res.locals.session as LoadedSession),
      mfa: deps.secondFactors ? await deps.secondFactors.status(user) : undefined,
      appPasswords: deps.appPasswords ? await deps.appPasswords.list(user.username) : undefined,
      sessions: (await deps.sessions.list(user.username)).map((other) => ({
        handle: handleOf(other.sid),
        current: other.sid === (res.locals.session as LoadedSession).sid,
        browser: describeBrowser(other.userAgent),
        ip: other.ip,
        createdAt: other.createdAt,
        lastSeenAt: other.lastSeenAt,
      })),
      error,
      notice,
      passwordChange: deps.passwords !== undefined,
    });
  }

  async function showEnrol(req: Request, res: Response, status: number, error?: string): Promise<void> {
    const factors = deps.secondFactors as SecondFactors;
    const user = res.locals.user as DirectoryUser;
    const session = res.locals.session as LoadedSession;
    const sealed = ((req.body ?? {}) as Record<string, unknown>).enrolment;
    let enrolment;
    if (typeof sealed === 'string' && error !== undefined) enrolment = await factors.resumeTotp(user.username, session.sid, sealed).catch(() => undefined);
    enrolment ??= await factors.beginTotp(user.username, session.sid);
    pages.render(req, res, status, 'enrol.njk', { csrfToken: tokenFor(session), action: `${ACCOUNT_PATH}totp/`, username: user.username, enrolment, error, askPassword: true, cancel: ACCOUNT_PATH });
  }

  const requireMfa: RequestHandler = (req, res, next) => {
    if (deps.secondFactors) next();
    else sendError(pages, req, res, 404, 'Second factors are turned off on this gateway.');
  };

  const page =
    (show: typeof showAccount): RequestHandler =>
    (req, res, next) => {
      show(req, res, 200).catch(next);
    };

  const confirmTotp: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const session = res.locals.session as LoadedSession;
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      const factors = deps.secondFactors as SecondFactors;
      const secret = factors.enrolmentSecret(user.username, session.sid, typeof body.enrolment === 'string' ? body.enrolment : '');
      const codes = await factors.confirmTotp(user.username, secret, typeof body.code === 'string' ? body.code : '', req.ip ?? '', { replace: true });
      pages.render(req, res, 200, 'recovery-codes.njk', { codes, continueTo: ACCOUNT_PATH, fromAccount: true });
    } catch (err) {
      next(err);
    }
  };

  const removeTotp: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    try {
      await (deps.secondFactors as SecondFactors).removeTotp(user);
      res.redirect(303, `${ACCOUNT_PATH}?done=removed`);
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
      pages.render(req, res, 200, 'recovery-codes.njk', { codes, continueTo: ACCOUNT_PATH, fromAccount: true });
    } catch (err) {
      next(err);
    }
  };

  const createAppPassword: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const name = ((req.body ?? {}) as Record<string, unknown>).name;
    try {
      const created = await (deps.appPasswords as AppPasswords).create(user.username, typeof name === 'string' ? name : '');
      pages.render(req, res, 200, 'app-password.njk', { name: created.name, value: created.value, username: user.username });
    } catch (err) {
      next(err);
    }
  };

  const revokeAppPassword: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const id = ((req.body ?? {}) as Record<string, unknown>).id;
    try {
      const appPasswords = deps.appPasswords as AppPasswords;
      const entry = (await appPasswords.list(user.username)).find((p) => p.id === id);
      if (!entry) throw new AccountActionError(`no app password ${String(id)} of ${user.username}`, 'That app password does not exist (any more).');
      // The token it fetched is the person's one Paperless token: only a new one ends that app's
      // access. Replaced first, so a Paperless outage leaves the app password in place to try again.
      if (entry.signedInApp) await deps.rotatePaperlessToken(user.username);
      const revoked = await appPasswords.revoke(user.username, entry.id);
      if (!revoked) throw new AccountActionError(`app password ${entry.id} of ${user.username} went meanwhile`, 'That app password does not exist (any more).');
      res.redirect(303, `${ACCOUNT_PATH}?done=${revoked.signedInApp ? 'app-revoked-token' : 'app-revoked'}`);
    } catch (err) {
      next(err);
    }
  };

  const changePassword: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const session = res.locals.session as LoadedSession;
    const passwords = deps.passwords;
    try {
      if (!passwords) throw new AccountActionError('password change is off', 'Passwords cannot be changed here.');
      const { current, next: wanted } = readNewPassword(req.body, true);
      await passwords.change(user.username, current, wanted, req.ip ?? '', 'account');
      passwords.forgetBasic(user.username, current);
      let others = 0;
      if (passwords.signOutOthers) {
        const sids = (await deps.sessions.list(user.username)).map((s) => s.sid).filter((sid) => sid !== session.sid);
        others = await deps.sessions.revoke(user.username, sids);
      }
      res.redirect(303, `${ACCOUNT_PATH}?done=${others > 0 ? 'password-changed-others' : 'password-changed'}`);
    } catch (err) {
      next(err);
    }
  };

  /** After sign-in, when the password expires within GATEWAY_PASSWORD_EXPIRY_WARNING: a notice, never a block. */
  const expiringNotice: RequestHandler = (req, res) => {
    const at = Number(req.query.at);
    const next = safeNextPath(req.query.next, deps.publicUrl) ?? '/';
    if (!Number.isFinite(at) || at <= 0) {
      res.redirect(303, next);
      return;
    }
    const days = Math.max(0, Math.ceil((at - Date.now()) / 86_400_000));
    pages.render(req, res, 200, 'password-expiring.njk', { days, at, next, canChange: deps.passwords !== undefined });
  };

  /** `which`: one session (by handle), every other one, or all of them (this one too). */
  const endSessions =
    (which: 'one' | 'others' | 'all'): RequestHandler =>
    async (req, res, next) => {
      const user = res.locals.user as DirectoryUser;
      const current = (res.locals.session as LoadedSession).sid;
      const handle = ((req.body ?? {}) as Record<string, unknown>).session;
      try {
        const sids = (await deps.sessions.list(user.username)).map((other) => other.sid);
        const chosen = which === 'all' ? sids : which === 'others' ? sids.filter((sid) => sid !== current) : sids.filter((sid) => handleOf(sid) === handle);
        if (which === 'one' && chosen.length === 0) throw new AccountActionError(`no session ${String(handle)} of ${user.username}`, 'That session is signed out already.');
        await deps.sessions.revoke(user.username, chosen);
        if (which === 'all' || chosen.includes(current)) res.redirect(303, '/accounts/logout/');
        else res.redirect(303, `${ACCOUNT_PATH}?done=${which === 'one' ? 'session-ended' : 'others-ended'}`);
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
      const codes = await (deps.secondFactors as SecondFactors).addPasskey(user.username, session.sid, typeof body.name === 'string' ? body.name : '', credentialOf<RegistrationResponseJSON>(body.credential), req.ip ?? '');
      if (codes) pages.render(req, res, 200, 'recovery-codes.njk', { codes, continueTo: ACCOUNT_PATH, fromAccount: true });
      else res.redirect(303, `${ACCOUNT_PATH}?done=passkey-added`);
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
      res.redirect(303, `${ACCOUNT_PATH}?done=passkey-removed`);
    } catch (err) {
      next(err);
    }
  };

  const showFailure =
    (show: typeof showAccount) =>
    (err: unknown, req: Request, res: Response, next: NextFunction): void => {
      if (!(err instanceof GatewayError) || !res.locals.user) {
        next(err);
        return;
      }
      res.set(refusedSignIn(log, err, { via: 'form', username: (res.locals.user as DirectoryUser).username, ip: req.ip }));
      show(req, res, err.status, err.userMessage).catch(next);
    };

  router.get(ACCOUNT_PATH, requireSession, page(showAccount), showFailure(showAccount));
  router.get(`${ACCOUNT_PATH}totp/`, requireMfa, requireSession, page(showEnrol), showFailure(showAccount));
  router.post(`${ACCOUNT_PATH}totp/`, requireMfa, requireSession, parseForm, checkForm, checkPassword, confirmTotp, showFailure(showEnrol));
  router.post(`${ACCOUNT_PATH}totp/remove`, requireMfa, requireSession, parseForm, checkForm, checkPassword, removeTotp, showFailure(showAccount));
  router.post(`${ACCOUNT_PATH}recovery-codes`, requireMfa, requireSession, parseForm, checkForm, checkPassword, newRecoveryCodes, showFailure(showAccount));
  router.post(`${ACCOUNT_PATH}passkeys/new`, requireMfa, requireSession, parseForm, checkForm, checkPassword, passkeyOptions, showFailure(showAccount));
  router.post(`${ACCOUNT_PATH}passkeys/`, requireMfa, requireSession, parseForm, checkForm, addPasskey, showFailure(showAccount));
  router.post(`${ACCOUNT_PATH}passkeys/remove`, requireMfa, requireSession, parseForm, checkForm, checkPassword, removePasskey, showFailure(showAccount));
  router.get(EXPIRY_NOTICE_PATH, requireSession, expiringNotice);
  router.post(`${ACCOUNT_PATH}password`, requireSession, parseForm, checkForm, changePassword, showFailure(showAccount));
  router.post(`${ACCOUNT_PATH}sessions/end`, requireSession, parseForm, checkForm, endSessions('one'), showFailure(showAccount));
  router.post(`${ACCOUNT_PATH}sessions/end-others`, requireSession, parseForm, checkForm, endSessions('others'), showFailure(showAccount));
  router.post(`${ACCOUNT_PATH}sessions/end-all`, requireSession, parseForm, checkForm, endSessions('all'), showFailure(showAccount));
  router.post(`${ACCOUNT_PATH}app-passwords`, requireMfa, requireSession, parseForm, checkForm, checkPassword, createAppPassword, showFailure(showAccount));
  router.post(`${ACCOUNT_PATH}app-passwords/revoke`, requireMfa, requireSession, parseForm, checkForm, revokeAppPassword, showFailure(showAccount));
  return router;
}
