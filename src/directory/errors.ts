import { GatewayError } from '../errors.js';

/** Unknown user and wrong password are deliberately one error: telling them apart would reveal who has an account. */
export class InvalidCredentialsError extends GatewayError {
  readonly status = 401;
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

/** The password was right, but the directory refuses the account (disabled, expired, must change password…). */
export class AccountRestrictedError extends GatewayError {
  readonly status = 403;
  constructor(detail: string, userMessage: string) {
    super(detail, userMessage);
  }
}
