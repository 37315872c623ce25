import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { parse as parseCookies } from 'cookie';
import type { Logger } from 'pino';
import type { DirectoryUser } from '../directory/directory.js';
import { refusedSignIn } from '../auth/refused-sign-in.js';
import { GatewayError } from '../errors.js';
import type { CredentialCheck } from '../auth/credential-check.js';
import type { SessionService } from '../session/sessions.js';
import { BadLoginRequestError, LoginFormExpiredError } from './errors.js';
import type { LoginCsrf } from './login-csrf.js';
import { safeNextPath } from './next-path.js';
import type { Pages } from './pages.js';

export interface LoginDeps {
  /** Password, allowed groups and provisioning, as every way of signing in checks them. */
  credentials: CredentialCheck;
  sessions: SessionService;
  csrf: LoginCsrf;
  pages: Pages;
  publicUrl: URL;
  secureCookie: boolean;
  csrfCookieName: string;
  /** GATEWAY_REMEMBER_ME_DURATION; undefined: the form has no "remember me" box. */
  rememberMeMs?: number;
  log: Logger;
}

const MAX_USERNAME = 256;
const MAX_PASSWORD = 1024;

interface LoginForm {
  username: string;
  password: string;
  next: string | undefined;
  remember: boolean;
}

/** The login endpoint, built from single-purpose steps in the order they run. */
export function loginRouter(deps: LoginDeps): Router {
  const { pages, csrf, log } = deps;
  const router = express.Router();

  function showForm(req: Request, res: Response, status: number, extra: { error?: string; username?: string; next?: string | undefined; remember?: boolean }): void {
    const nonce = csrf.nonceFor(parseCookies(req.headers.cookie ?? '')[deps.csrfCookieName]);
    const signedInAs: string | undefined = req.session?.user?.username;
    const queryNext = safeNextPath(req.query.next, deps.publicUrl);
    res.cookie(deps.csrfCookieName, nonce, { httpOnly: true, sameSite: 'lax', secure: deps.secureCookie, path: '/accounts/login/' });
    pages.render(req, res, status, 'login.njk', {
      csrfToken: csrf.tokenFor(nonce),
      next: extra.next ?? queryNext ?? '',
      username: extra.username ?? '',
      error: extra.error,
      // The signed-out notice only when nobody is signed in: Paperless's own logouts send here too.
      signedOut: req.query.loggedout === '1' && !signedInAs,
      signedInAs,
      continueTo: queryNext ?? '/',
      shareLink: req.query.sharelink_notfound === '1' ? 'notfound' : req.query.sharelink_expired === '1' ? 'expired' : undefined,
      rememberMe: deps.rememberMeMs !== undefined,
      remember: extra.remember ?? false,
    });
  }

  const showLoginForm: RequestHandler = (req, res) => showForm(req, res, 200, {});

  const parseForm = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 });

  const readForm: RequestHandler = (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const { username, password } = body;
    if (typeof username !== 'string' || typeof password !== 'string') {
      next(new BadLoginRequestError('username or password missing', 'Enter your username and password.'));
      return;
    }
    if (username.length > MAX_USERNAME || password.length > MAX_PASSWORD) {
      next(new BadLoginRequestError('credentials too long', 'Username or password is too long.'));
      return;
    }
    const form: LoginForm = { username, password, next: safeNextPath(body.next, deps.publicUrl), remember: deps.rememberMeMs !== undefined && body.remember === '1' };
    res.locals.form = form;
    next();
  };

  const checkFormToken: RequestHandler = (req, _res, next) => {
    const origin = req.get('origin');
    if (origin !== undefined && origin !== 'null' && origin !== deps.publicUrl.origin) {
      next(new LoginFormExpiredError(`login posted from foreign origin ${origin}`));
      return;
    }
    const nonce = parseCookies(req.headers.cookie ?? '')[deps.csrfCookieName];
    if (!csrf.verify(nonce, (req.body as Record<string, unknown>)._csrf)) {
      next(new LoginFormExpiredError('login CSRF token missing or wrong'));
      return;
    }
    next();
  };

  const checkCredentials: RequestHandler = async (req, res, next) => {
    const form = res.locals.form as LoginForm;
    try {
      res.locals.user = await deps.credentials.verify(form.username, form.password, req.ip ?? '', 'form');
      next();
    } catch (err) {
      next(err);
    }
  };

  const establishSession: RequestHandler = async (req, res, next) => {
    try {
      const form = res.locals.form as LoginForm;
      await deps.sessions.establish(req, res.locals.user as DirectoryUser, form.remember ? deps.rememberMeMs : undefined);
      next();
    } catch (err) {
      next(err);
    }
  };

  const redirectToNext: RequestHandler = (req, res) => {
    const user = res.locals.user as DirectoryUser;
    log.info({ event: 'login.success', username: user.username, ip: req.ip, remember: (res.locals.form as LoginForm).remember }, 'login succeeded');
    res.redirect(303, (res.locals.form as LoginForm).next ?? '/');
  };

  /** Any failure in the steps above comes back to the form, with what the person can do about it. */
  const showFailure = (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (!(err instanceof GatewayError)) {
      next(err);
      return;
    }
    const form = res.locals.form as LoginForm | undefined;
    res.set(refusedSignIn(log, err, { via: 'form', username: form?.username, ip: req.ip }));
    showForm(req, res, err.status, { error: err.userMessage, username: form?.username ?? '', next: form?.next, remember: form?.remember ?? false });
  };

  router.get('/accounts/login/', showLoginForm);
  router.post('/accounts/login/', parseForm, readForm, checkFormToken, checkCredentials, establishSession, redirectToNext, showFailure);
  return router;
}
