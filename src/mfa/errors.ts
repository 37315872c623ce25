import { GatewayError } from '../errors.js';

/** A wrong, spent or malformed code at the second step. */
export class SecondFactorInvalidError extends GatewayError {
  readonly status: number = 401;
  constructor(detail: string, userMessage = 'That code is not right, or it was used already. Enter the current code from your app, or a recovery code.') {
    super(detail, userMessage);
  }
}

/** Too many wrong codes: the second step is banned for a while, like a password. */
export class SecondFactorBannedError extends SecondFactorInvalidError {
  override readonly status = 429;
  constructor(
    detail: string,
    readonly retryAfterSeconds: number,
  ) {
    super(detail, 'Too many wrong codes. Wait a few minutes, then try again.');
  }
}

/**
 * A second factor is required and none is enrolled, and this sign-in may not enrol one: a lost
 * store or a stolen password must never turn into a password-only sign-in.
 */
export class EnrolmentNotAllowedError extends GatewayError {
  readonly status = 403;
  constructor(username: string) {
    super(`${username} must use a second factor, has none, and has no enrolment link`, 'Your account needs a second factor, and none is set up. Ask your administrator for an enrolment link.');
  }
}

/** An enrolment link that is unknown, spent, expired, or someone else's. */
export class EnrolmentLinkInvalidError extends GatewayError {
  readonly status = 403;
  constructor(detail: string) {
    super(detail, 'This enrolment link is not valid: it was used already, has expired, or belongs to another account. Ask your administrator for a new one.');
  }
}

/** Apps and scripts sign in with a password only: not for an account that uses a second factor. */
export class SecondFactorRequiredError extends GatewayError {
  readonly status = 403;
  constructor(username: string) {
    super(`${username} uses a second factor; a password alone does not sign in apps`, 'This account signs in with a second factor, which apps and scripts cannot give. Create an app password on your account page (/accounts/security/app-passwords/) and use it instead of your password.');
  }
}

/** The person already has an authenticator app enrolled (a second tab, or a race). */
export class AlreadyEnrolledError extends GatewayError {
  readonly status = 409;
  constructor(username: string) {
    super(`${username} already has an authenticator app`, 'An authenticator app is already set up for this account.');
  }
}

/** A sealed enrolment form that is too old, or not this person's. */
export class EnrolmentExpiredError extends GatewayError {
  readonly status = 400;
  constructor(detail: string) {
    super(detail, 'This setup took too long. Start again to get a new QR code.');
  }
}

/** Removing this factor would leave none, and the policy requires one. */
export class LastFactorError extends GatewayError {
  readonly status = 409;
  constructor(username: string) {
    super(`${username} must keep a second factor`, 'Your account must keep a second factor. To change phones, set up the new authenticator app instead: it replaces the old one.');
  }
}
