import { GatewayError } from '../errors.js';

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

export class NotAllowedError extends GatewayError {
  readonly status = 403;
  constructor(username: string) {
    super(`${username} is in none of the allowed groups`, 'Your account is not allowed to use Paperless. Ask your administrator for access.');
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
