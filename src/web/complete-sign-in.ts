import type { Request } from 'express';
import type { Logger } from 'pino';
import type { CredentialCheck } from '../auth/credential-check.js';
import type { DirectoryUser } from '../directory/directory.js';
import type { SessionService } from '../session/sessions.js';

export interface CompleteSignInDeps {
  credentials: Pick<CredentialCheck, 'admit'>;
  sessions: Pick<SessionService, 'establish'>;
  /** GATEWAY_REMEMBER_ME_DURATION; undefined: no "remember me". */
  rememberMeMs?: number;
  log: Logger;
}

/** How the person proved who they are, for the audit line. */
export type Proof =
  | 'password'
  | 'password+remembered-device'
  | 'new-password'
  | 'new-password+remembered-device'
  | 'password+totp'
  | 'password+recovery'
  | 'password+passkey'
  | 'password+enrolment';

/**
 * The end of every browser sign-in, however many steps it took: Paperless is made to match, a
 * fresh session starts (a new id, so nothing of a half-done sign-in carries over), and it is audited.
 */
export function completeSignIn(deps: CompleteSignInDeps) {
  return async (req: Request, user: DirectoryUser, options: { remember: boolean; proof: Proof }): Promise<void> => {
    await deps.credentials.admit(user, 'form');
    await deps.sessions.establish(req, user, options.remember ? deps.rememberMeMs : undefined);
    deps.log.info({ event: 'login.success', username: user.username, ip: req.ip, remember: options.remember, proof: options.proof }, 'login succeeded');
  };
}

export type CompleteSignIn = ReturnType<typeof completeSignIn>;
