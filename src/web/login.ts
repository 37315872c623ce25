import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { DirectoryUser } from '../directory/directory.js';
import { refusedSignIn } from '../auth/refused-sign-in.js';
import { GatewayError } from '../errors.js';
import type { CredentialCheck } from '../auth/credential-check.js';
import { PasswordChangeRequiredError } from '../directory/errors.js';
import type { SessionService } from '../session/sessions.js';
import type { AfterPassword, SignInIntent } from './after-password.js';
import { BadLoginRequestError, WrongAddressError } from './errors.js';
import type { FormGuard } from './form-guard.js';
import { safeNextPath } from './next-path.js';
import type { Pages } from './pages.js';
import { REFUSED_PARAM, RefusalMarker } from '../proxy/header-login-refused.js';
import { LogThrottle } from '../ops/log-throttle.js';
import type { KerberosOutcome } from './kerberos-sign-in.js';

export interface LoginDeps {
  /** Password and allowed groups, as every way of signing in checks them. */
  credentials: Pick<CredentialCheck, 'checkPassword'>;
  afterPassword: AfterPassword;
  /** Who is signed in (or half-way) in this browser. */
  sessions: Pick<SessionService, 'state'>;
  /** Undefined while GATEWAY_PASSWORD_CHANGE is off: a password the directory wants changed then ends the sign-in. */
  passwordStep?: { begin: (req: Request, err: PasswordChangeRequiredError, intent: SignInIntent) => Promise<void> };
  guard: FormGuard;
  pages: Pages;
  publicUrl: URL;
  /** Whether the form has a "remember me" box (GATEWAY_REMEMBER_ME_DURATION). */
  rememberMe: boolean;
  /** Checks the forwarder's marker of a Paperless that refused the identity header (header-login-refused.ts). */
  sessionSecret: string;
  /** GATEWAY_KERBEROS: the sign-in page's first step (kerberos-sign-in.ts); it leaves its outcome in res.locals.kerberos. */
  kerberos?: RequestHandler;
  log: Logger;
}

/** A wrong-address post is logged at most this often per client address and claimed origin: a client can send them at will. */
export const WRONG_ADDRESS_LOG_INTERVAL_MS = 60_000;

const MAX_USERNAME = 256;
const MAX_PASSWORD = 1024;

interface LoginForm {
  username: string;
  password: string;
  next: string | undefined;
  remember: boolean;
  /** An admin's enrolment link (`?enrol=`), carried by the form. */
  enrol: string | undefined;
}

function queryString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Where the page was opened and the sign-in page at the public URL, keeping where the person was going. */
function wrongAddressContext(err: WrongAddressError, next: string | undefined): { openedAt: string; publicOrigin: string; signInUrl: string } {
  const signIn = new URL('/accounts/login/', err.publicUrl);
  if (next) signIn.searchParams.set('next', next);
  return { openedAt: err.openedAt, publicOrigin: err.publicUrl.origin, signInUrl: signIn.href };
}

/** The login endpoint, built from single-purpose steps in the order they run. */
export function loginRouter(deps: LoginDeps): Router {
  const { pages, guard, log } = deps;
  const router = express.Router();

  function showForm(
    req: Request,
    res: Response,
    status: number,
    extra: { error?: string; username?: string; next?: string | undefined; remember?: boolean; enrol?: string | undefined; wrongAddress?: WrongAddressError; paperlessRefused?: boolean },
  ): void {
    const kerberos = res.locals.kerberos as KerberosOutcome | undefined;
    const state = deps.sessions.state(req);
    const signedInAs = state.level === 'signed-in' ? state.user.username : undefined;
    const queryNext = safeNextPath(req.query.next, deps.publicUrl);
    pages.render(req, res, status, 'login.njk', {
      csrfToken: guard.token(req, res),
      next: extra.next ?? queryNext ?? '',
      username: extra.username ?? '',
      error: extra.error,
      // The signed-out notice only when nobody is signed in: Paperless's own logouts send here too.
      signedOut: req.query.loggedout === '1' && !signedInAs,
      restarted: req.query.restart === '1' && !signedInAs,
      signedInAs,
      continueTo: queryNext ?? '/',
      shareLink: req.query.sharelink_notfound === '1' ? 'notfound' : req.query.sharelink_expired === '1' ? 'expired' : undefined,
      rememberMe: deps.rememberMe,
      remember: extra.remember ?? false,
      enrol: extra.enrol ?? queryString(req.query.enrol) ?? '',
      wrongAddress: extra.wrongAddress && wrongAddressContext(extra.wrongAddress, extra.next ?? queryNext),
      paperlessRefused: extra.paperlessRefused ?? false,
      kerberos: deps.kerberos ? { optedOut: kerberos?.optedOut ?? false } : undefined,
    });
  }

  const refusals = new RefusalMarker(deps.sessionSecret);
  /**
   * The notice that Paperless sent a signed-in person back here only with the forwarder's marker
   * for this very session: anyone can link a signed-in person to `/accounts/login/?next=/x`, and
   * that must neither alarm them nor blame Paperless's settings. The admin's log line is the
   * forwarder's, written where Paperless's redirect passes.
   */
  const showLoginForm: RequestHandler = (req, res) => {
    const signedIn = deps.sessions.state(req).level === 'signed-in';
    // After the Kerberos step: a 401 offering Negotiate, or its refusal.
    const kerberos = res.locals.kerberos as KerberosOutcome | undefined;
    showForm(req, res, kerberos?.status ?? 200, { paperlessRefused: signedIn && refusals.verify(req.sessionID, req.query[REFUSED_PARAM]), ...(kerberos?.error ? { error: kerberos.error } : {}) });
  };

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
    const form: LoginForm = {
      username,
      password,
      next: safeNextPath(body.next, deps.publicUrl),
      remember: deps.rememberMe && body.remember === '1',
      enrol: typeof body.enrol === 'string' && body.enrol !== '' ? body.enrol.slice(0, 64) : undefined,
    };
    res.locals.form = form;
    next();
  };

  const checkPassword: RequestHandler = async (req, res, next) => {
    const form = res.locals.form as LoginForm;
    try {
      res.locals.user = await deps.credentials.checkPassword(form.username, form.password, req.ip ?? '', 'form');
      next();
    } catch (err) {
      next(err);
    }
  };

  /** Let the person in, or on to the second step; a password the directory wants changed goes to the change form. */
  const continueSignIn: RequestHandler = async (req, res, next) => {
    const form = res.locals.form as LoginForm;
    try {
      await deps.afterPassword(req, res, res.locals.user as DirectoryUser, form, 'password');
    } catch (err) {
      next(err);
    }
  };

  /** The directory wants a new password first: the proven one is kept sealed for the change, ten minutes at most. */
  const changeInstead = (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (!(err instanceof PasswordChangeRequiredError) || !deps.passwordStep) {
      next(err);
      return;
    }
    const form = res.locals.form as LoginForm;
    deps.passwordStep
      .begin(req, err, form)
      .then(() => {
        log.info({ event: 'login.password_change_required', username: err.user.username, ip: req.ip, reason: err.reason }, 'password accepted; the directory wants it changed first');
        res.redirect(303, '/accounts/login/password/');
      })
      .catch(next);
  };

  const wrongAddressLogged = new LogThrottle(WRONG_ADDRESS_LOG_INTERVAL_MS);
  /** Any failure in the steps above comes back to the form, with what the person can do about it. */
  const showFailure = (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (!(err instanceof GatewayError)) {
      next(err);
      return;
    }
    const form = res.locals.form as LoginForm | undefined;
    res.set(refusedSignIn(log, err, { via: 'form', username: form?.username, ip: req.ip }));
    if (err instanceof WrongAddressError && wrongAddressLogged.due(`${req.ip ?? ''} ${err.openedAt}`)) {
      // What the browser claimed, at info: any client can send these headers, so the line may not
      // urge a change of GATEWAY_PUBLIC_URL, nor be written for every post.
      log.info({ event: 'login.wrong_address', openedAt: err.openedAt, ip: req.ip, setting: 'GATEWAY_PUBLIC_URL', publicUrl: err.publicUrl.origin }, err.message);
    }
    showForm(req, res, err.status, {
      error: err.userMessage,
      username: form?.username ?? '',
      next: form?.next,
      remember: form?.remember ?? false,
      enrol: form?.enrol,
      ...(err instanceof WrongAddressError ? { wrongAddress: err } : {}),
    });
  };

  router.get('/accounts/login/', ...(deps.kerberos ? [deps.kerberos] : []), showLoginForm);
  router.post('/accounts/login/', parseForm, readForm, guard.check, checkPassword, continueSignIn, changeInstead, showFailure);
  return router;
}
