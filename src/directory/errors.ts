import { GatewayError } from '../errors.js';
import type { DirectoryUser } from './directory.js';

/** Unknown user and wrong password are deliberately one error: telling them apart would reveal who has an account. */
export class InvalidCredentialsError extends GatewayError {
  readonly status = 401;
  /** The directory entry's own username, when the entry was found and only the password was wrong. */
  entryUsername?: string;
  constructor(detail: string) {
    super(detail, 'Wrong username or password.');
  }
}

export class DirectoryUnavailableError extends GatewayError {
  readonly status = 503;
  constructor(detail: string, options?: { cause?: unknown }) {
    super(detail, 'The user directory (LDAP) is unavailable. Please try again in a moment.', options);
  }
}

/**
 * The directory answered, but a gateway setting does not fit it (a base that does not exist, a
 * certificate the gateway cannot trust, a size limit): `detail` says what was found, `fix` which
 * setting to change and how. The person at the form still reads "unavailable".
 */
export class DirectorySettingError extends DirectoryUnavailableError {
  constructor(
    readonly detail: string,
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super(`${detail}: ${fix}`, options);
  }
}

export class NotAllowedError extends GatewayError {
  readonly status = 403;
  constructor(username: string, userMessage?: string) {
    super(
      userMessage ? `${username} is not in the directory's scope` : `${username} is in none of the allowed groups`,
      userMessage ?? 'Your account is not allowed to use Paperless. Ask your administrator for access.',
    );
  }
}

/**
 * Paperless reads the identity header as Latin-1 (Django decodes header bytes that way), so a
 * name outside it would arrive as another, garbled name; Node refuses to send it at all.
 */
export class UsernameNotRepresentableError extends GatewayError {
  readonly status = 403;
  constructor(username: string) {
    super(
      `username ${JSON.stringify(username)} has characters outside Latin-1, which the identity header cannot carry to Paperless; set GATEWAY_LDAP_USERNAME_ATTRIBUTE to an attribute holding a plain name (e.g. sAMAccountName, employeeID)`,
      'Your username contains characters Paperless cannot receive. Ask your administrator to give Paperless another name for you (GATEWAY_LDAP_USERNAME_ATTRIBUTE).',
    );
  }
}

/** Whether Paperless can receive this name in its identity header. */
export function fitsIdentityHeader(username: string): boolean {
  return /^[\u0020-\u007e\u00a0-\u00ff]*$/.test(username);
}

/** The password was right, but the directory refuses the account (disabled, expired, must change password…). */
export class AccountRestrictedError extends GatewayError {
  readonly status = 403;
  constructor(detail: string, userMessage: string) {
    super(detail, userMessage);
  }
}

/** Why a directory refused a new password, in words a person can act on. */
export type PasswordProblem = 'too-short' | 'in-history' | 'too-young' | 'quality' | 'same' | 'not-allowed' | 'policy';

const PASSWORD_PROBLEMS: Record<PasswordProblem, string> = {
  'too-short': 'The new password is too short.',
  'in-history': 'You used this password before. Choose one you have not used.',
  'too-young': 'Your password was changed too recently to change it again yet. Try again later.',
  quality: 'The new password does not meet the complexity rules: mix upper and lower case letters, digits and symbols, and do not use your name.',
  same: 'The new password must differ from the current one.',
  'not-allowed': 'The directory does not let you change your own password. Ask your administrator.',
  policy: 'The directory refused the new password: it does not meet the password rules (length, complexity or history).',
};

/** The directory refused the new password (policy), or the change itself. */
export class PasswordRejectedError extends GatewayError {
  readonly status = 400;
  constructor(
    readonly problem: PasswordProblem,
    detail: string,
  ) {
    super(`new password refused (${problem}): ${detail}`, PASSWORD_PROBLEMS[problem]);
  }
}

/** Active Directory takes a new password only over an encrypted connection. */
export class PasswordChangeNeedsTlsError extends GatewayError {
  readonly status = 503;
  constructor() {
    super(
      'Active Directory changes passwords only over LDAPS or StartTLS; GATEWAY_LDAP_URL is ldap:// without GATEWAY_LDAP_STARTTLS',
      'Passwords cannot be changed here: the connection to the directory is not encrypted, and a password is never sent over it in the clear. Ask your administrator to use LDAPS or StartTLS.',
    );
  }
}

/** The password expired and the directory allows no change with it any more (no grace logins left). */
export class PasswordExpiredError extends GatewayError {
  readonly status = 403;
  constructor(detail: string) {
    super(detail, 'Your password has expired and can no longer be changed with it. Ask your administrator to reset it.');
  }
}

/**
 * The password was right, but the directory wants a new one before the person may use it: AD's
 * "must change at next logon" (773) or an expired password (532), ppolicy's reset
 * (changeAfterReset) or a grace sign-in after expiry. Carries the entry, so the sign-in can go
 * on to the change instead of ending here.
 */
export class PasswordChangeRequiredError extends GatewayError {
  readonly status = 403;
  constructor(
    readonly user: DirectoryUser,
    readonly reason: 'must-change' | 'expired',
    readonly graceLeft?: number,
  ) {
    super(
      `${user.username} must change their password first (${reason}${graceLeft === undefined ? '' : `, ${graceLeft} grace sign-ins left`})`,
      reason === 'expired' ? 'Your password has expired. Change it, then sign in again.' : 'You must change your password before you can sign in.',
    );
  }
}
