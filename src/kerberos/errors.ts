import { GatewayError } from '../errors.js';

export class MalformedNegotiateError extends GatewayError {
  readonly status = 400;
  constructor(reason: string) {
    super(`Negotiate token refused: ${reason}`, 'Your browser sent a Kerberos sign-in the gateway cannot read. Sign in with your password instead.');
  }
}

/** A token that is well formed but not accepted: for another service or realm, expired, replayed, or not Kerberos. */
export class NegotiateRefusedError extends GatewayError {
  readonly status = 401;
  constructor(reason: string) {
    super(`Kerberos ticket refused: ${reason}`, 'The Kerberos sign-in of your computer was not accepted. Sign in with your password instead.');
  }
}

/** Too many Kerberos sign-ins at once from one address, or in all: each takes a turn of GSSAPI's few worker threads. */
export class NegotiateBusyError extends GatewayError {
  readonly status = 503;
  constructor(reason = 'too many Kerberos sign-ins waiting from this address, or in all') {
    super(reason, 'Too many sign-ins at once. Try again in a moment.');
  }
}
