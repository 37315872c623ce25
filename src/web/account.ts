import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { refusedSignIn } from '../auth/refused-sign-in.js';
import { isAllowed } from '../directory/allowed-groups.js';
import type { DirectoryUser } from '../directory/directory.js';
import { GatewayError } from '../errors.js';
import type { LoadedSession } from '../session/sessions.js';
import { appPasswordRoutes } from './account-apps.js';
import { ACCOUNT_PATH, ACCOUNT_VIEWS, CONFIRM_PATH, type AccountContext, type AccountDeps, type AccountPage, type AccountView } from './account-context.js';
import { checkConfirmingPassword, confirmRoutes, confirmTarget, openWindow } from './account-confirm.js';
import { factorRoutes } from './account-factors.js';
import { passwordRoutes } from './account-password.js';
import { describeBrowser, sessionRoutes } from './account-sessions.js';
import { sendError } from './error-responses.js';
import { LoginFormExpiredError } from './errors.js';
import { foreignOrigin } from './form-guard.js';
import { passkeysWorkAt } from './webauthn-form.js';

export { ACCOUNT_PATH, type AccountDeps };

/** The view each form of the account section belongs to: where "confirm it's you" leads back. */
const FORM_VIEWS: Record<string, string> = {
  'totp/': `${ACCOUNT_PATH}totp/`,
  'totp/remove': ACCOUNT_VIEWS.authenticator.path,
  'recovery-codes': ACCOUNT_VIEWS['recovery-codes'].path,
  'passkeys/new': ACCOUNT_VIEWS.passkeys.path,
  'passkeys/remove': ACCOUNT_VIEWS.passkeys.path,
  'app-passwords': ACCOUNT_VIEWS['app-passwords'].path,
};

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
 * The person's own page (`/accounts/security/`): second factors, app passwords, sessions and the
 * password. It reads the session the way the request path does (lifetime, revocation), not
 * through express-session, and every change that adds or removes a way in needs the person to
 * have confirmed it's them within the last minutes (a borrowed, unlocked browser must not be
 * enough to replace someone's factors).
 * Forms carry a token bound to the session id. Each part lives in its own file.
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

  /** Back to this page after "confirm it's you": the page itself for a GET, the view of the form for a POST. */
  const backTo = (req: Request): string => {
    const path = req.originalUrl.split('?')[0] ?? ACCOUNT_PATH;
    if (req.method === 'GET') return confirmTarget(path);
    return FORM_VIEWS[path.slice(ACCOUNT_PATH.length)] ?? ACCOUNT_PATH;
  };

  const confirmed: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const session = res.locals.session as LoadedSession;
    const password = ((req.body ?? {}) as Record<string, unknown>).password;
    try {
      // A password in the form is checked whatever the window (a wrong one is refused), and opens it.
      if (password !== undefined) {
        await checkConfirmingPassword(deps, user.username, password, req.ip ?? '', 'the account page');
        await openWindow(deps, user.username, session.sid, 'password-in-form', req.ip);
        next();
        return;
      }
      if (await deps.stepUp.openUntil(user.username, session.sid)) {
        next();
        return;
      }
      res.redirect(303, `${CONFIRM_PATH}?next=${encodeURIComponent(backTo(req))}`);
    } catch (err) {
      next(err);
    }
  };

  const showView =
    (view: AccountView): AccountPage =>
    async (req, res, status, error) => {
      const user = res.locals.user as DirectoryUser;
      const session = res.locals.session as LoadedSession;
      const notice = typeof req.query.done === 'string' ? NOTICES[req.query.done] : undefined;
      const confirmedUntil = await deps.stepUp.openUntil(user.username, session.sid);
      pages.render(req, res, status, 'account.njk', {
        view,
        views: Object.fromEntries(Object.entries(ACCOUNT_VIEWS).map(([name, v]) => [name, v.path])),
        username: user.username,
        confirmedUntil,
        confirmPath: `${CONFIRM_PATH}?next=${encodeURIComponent(ACCOUNT_VIEWS[view].path)}`,
        csrfToken: tokenFor(session),
        mfa: deps.secondFactors ? await deps.secondFactors.status(user) : undefined,
        appPasswords: deps.appPasswords ? await deps.appPasswords.list(user.username) : undefined,
        sessions: (await deps.sessions.list(user.username)).map((other) => ({
          handle: handleOf(other.sid),
          current: other.sid === session.sid,
          browser: describeBrowser(other.userAgent),
          ip: other.ip,
          createdAt: other.createdAt,
          lastSeenAt: other.lastSeenAt,
        })),
        error,
        notice,
        passwordChange: deps.passwords !== undefined,
        passkeysWork: passkeysWorkAt(deps.publicUrl),
      });
    };

  const requireMfa: RequestHandler = (req, res, next) => {
    if (deps.secondFactors) next();
    else sendError(pages, req, res, 404, 'Second factors are turned off on this gateway.');
  };

  const page =
    (show: AccountPage): RequestHandler =>
    (req, res, next) => {
      show(req, res, 200).catch(next);
    };

  const showFailure =
    (show: AccountPage) =>
    (err: unknown, req: Request, res: Response, next: NextFunction): void => {
      if (!(err instanceof GatewayError) || !res.locals.user) {
        next(err);
        return;
      }
      res.set(refusedSignIn(log, err, { via: 'form', username: (res.locals.user as DirectoryUser).username, ip: req.ip }));
      show(req, res, err.status, err.userMessage).catch(next);
    };

  const ctx: AccountContext = { deps, router, tokenFor, handleOf, requireSession, requireMfa, parseForm, checkForm, confirmed, page, showView, showFailure };
  for (const [name, view] of Object.entries(ACCOUNT_VIEWS) as Array<[AccountView, (typeof ACCOUNT_VIEWS)[AccountView]]>) {
    const show = showView(name);
    if (view.secondFactors) router.get(view.path, requireMfa, requireSession, page(show), showFailure(show));
    else router.get(view.path, requireSession, page(show), showFailure(show));
  }
  confirmRoutes(ctx);
  factorRoutes(ctx);
  passwordRoutes(ctx);
  sessionRoutes(ctx);
  appPasswordRoutes(ctx);
  return router;
}
