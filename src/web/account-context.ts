import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { Logger } from 'pino';
import type { CredentialCheck } from '../auth/credential-check.js';
import type { PasswordChange } from '../auth/password-change.js';
import type { Directory } from '../directory/directory.js';
import { GatewayError } from '../errors.js';
import type { AppPasswords } from '../mfa/app-passwords.js';
import type { SecondFactors } from '../mfa/second-factors.js';
import type { LoadedSession, SessionService } from '../session/sessions.js';
import type { StepUpWindows } from '../session/step-up.js';
import type { LoginCsrf } from './login-csrf.js';
import type { Pages } from './pages.js';

export interface AccountDeps {
  sessions: Pick<SessionService, 'lookup' | 'list' | 'revoke'>;
  directory: Pick<Directory, 'lookup'>;
  /** GATEWAY_LDAP_ALLOWED_GROUPS: someone who left them is signed out here too. */
  allowedGroups: readonly string[];
  credentials: Pick<CredentialCheck, 'checkPassword'>;
  /** "Confirm it's you": one step-up opens a short window for the session's sensitive actions. */
  stepUp: Pick<StepUpWindows, 'open' | 'openUntil' | 'windowMs'>;
  /** Undefined while GATEWAY_MFA is off. */
  secondFactors?: SecondFactors;
  /** Undefined while GATEWAY_MFA is off. */
  appPasswords?: AppPasswords;
  /** Undefined while GATEWAY_PASSWORD_CHANGE is off. */
  passwords?: {
    change: PasswordChange['change'];
    /** GATEWAY_PASSWORD_CHANGE_SIGN_OUT=others. */
    signOutOthers: boolean;
  };
  /** Signs out every app holding the person's Paperless token (a new one is made). */
  rotatePaperlessToken: (username: string) => Promise<void>;
  csrf: LoginCsrf;
  pages: Pages;
  publicUrl: URL;
  log: Logger;
}

export const ACCOUNT_PATH = '/accounts/security/';
/** "Confirm it's you" (account-confirm.ts). */
export const CONFIRM_PATH = `${ACCOUNT_PATH}confirm/`;

/**
 * The account page's views: an overview, then one page per part, each short enough for a phone.
 * `secondFactors`: a view that exists only while GATEWAY_MFA is on (404 otherwise).
 */
export const ACCOUNT_VIEWS = {
  overview: { path: ACCOUNT_PATH, secondFactors: false },
  authenticator: { path: `${ACCOUNT_PATH}authenticator/`, secondFactors: true },
  passkeys: { path: `${ACCOUNT_PATH}passkeys/`, secondFactors: true },
  'recovery-codes': { path: `${ACCOUNT_PATH}recovery-codes/`, secondFactors: true },
  'app-passwords': { path: `${ACCOUNT_PATH}app-passwords/`, secondFactors: true },
  password: { path: `${ACCOUNT_PATH}password/`, secondFactors: false },
  sessions: { path: `${ACCOUNT_PATH}sessions/`, secondFactors: false },
} as const;

export type AccountView = keyof typeof ACCOUNT_VIEWS;

/** Where an action's outcome is told: its view, with the notice to show. */
export function doneAt(view: AccountView, notice: string): string {
  return `${ACCOUNT_VIEWS[view].path}?done=${notice}`;
}

/** The account page's own refusals (the last required factor, a session or key that is gone). */
export class AccountActionError extends GatewayError {
  readonly status = 409;
}

/** A page of the account section: rendered with a status and, after a refusal, its message. */
export type AccountPage = (req: Request, res: Response, status: number, error?: string) => Promise<void>;

/**
 * What every part of the account page shares: the session and person behind the request, the
 * form checks, and how a page and a refusal are shown. Each part (factors, app passwords,
 * sessions, password) adds its own routes with these.
 */
export interface AccountContext {
  deps: AccountDeps;
  router: Router;
  /** The forms' token, bound to the session id. */
  tokenFor: (session: LoadedSession) => string;
  /** Other sessions are named by a keyed handle, never by their id. */
  handleOf: (sid: string) => string;
  /** The signed-in person (res.locals.session, res.locals.user), or the sign-in page. */
  requireSession: RequestHandler;
  /** 404 while GATEWAY_MFA is off. */
  requireMfa: RequestHandler;
  parseForm: RequestHandler;
  /** Same origin and the session-bound token. */
  checkForm: RequestHandler;
  /**
   * Every change that adds or removes a way in: inside the session's step-up window, or with the
   * password in the form (checked, and it opens the window); otherwise the person is sent to
   * confirm it's them, and back to the action's page.
   */
  confirmed: RequestHandler;
  page: (show: AccountPage) => RequestHandler;
  /** One view of the account page (the overview, or a part's page). */
  showView: (view: AccountView) => AccountPage;
  showFailure: (show: AccountPage) => (err: unknown, req: Request, res: Response, next: NextFunction) => void;
}
