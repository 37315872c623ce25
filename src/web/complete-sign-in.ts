import type { Request } from 'express';
import type { Logger } from 'pino';
import type { CredentialCheck } from '../auth/credential-check.js';
import type { DirectoryUser } from '../directory/directory.js';
import type { SessionService } from '../session/sessions.js';
import type { Proof } from '../session/sign-in-state.js';

export interface CompleteSignInDeps {
  credentials: Pick<CredentialCheck, 'admit'>;
  sessions: Pick<SessionService, 'establish'>;
  /** GATEWAY_REMEMBER_ME_DURATION; undefined: no "remember me". */
  rememberMeMs?: number;
  /** GATEWAY_PASSWORD_EXPIRY_WARNING; undefined: never warn. */
  expiryWarningMs?: number;
  log: Logger;
}

/** The page that says a password expires soon, before going on to `next`. */
export const EXPIRY_NOTICE_PATH = '/accounts/security/password-expiring';

/**
 * The end of every browser sign-in, however many steps it took: Paperless is made to match, a
 * fresh session starts (a new id, so nothing of a half-done sign-in carries over), and it is audited.
 */
export function completeSignIn(deps: CompleteSignInDeps) {
  /** Returns where the browser goes now: `next`, or first the notice that the password expires soon. */
  return async (req: Request, user: DirectoryUser, options: { remember: boolean; proof: Proof; next: string | undefined }): Promise<string> => {
    await deps.credentials.admit(user, 'form');
    await deps.sessions.establish(req, user, options.proof, options.remember ? deps.rememberMeMs : undefined);
    deps.log.info({ event: 'login.success', username: user.username, ip: req.ip, remember: options.remember, proof: options.proof }, 'login succeeded');
    const next = options.next ?? '/';
    const expires = user.passwordExpiresAt;
    if (deps.expiryWarningMs === undefined || expires === undefined || expires - Date.now() > deps.expiryWarningMs) return next;
    return `${EXPIRY_NOTICE_PATH}?${new URLSearchParams({ at: String(expires), next })}`;
  };
}

export type CompleteSignIn = ReturnType<typeof completeSignIn>;
