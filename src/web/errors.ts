import { GatewayError } from '../errors.js';

export class LoginFormExpiredError extends GatewayError {
  readonly status = 403;
  constructor(detail: string) {
    super(detail, 'The sign-in form expired or came from another site. Please try again.');
  }
}

/**
 * A form posted from a page the browser opened at another address than GATEWAY_PUBLIC_URL (an IP
 * address, an old name, http instead of https): refused as any foreign post is, but said as it is,
 * with where the page was opened and where to sign in instead.
 */
export class WrongAddressError extends GatewayError {
  readonly status = 403;
  constructor(
    readonly openedAt: string,
    readonly publicUrl: URL,
  ) {
    super(
      // Worded as the client's claim: the headers it rests on can be forged by any client (not by a page on another site).
      `a sign-in form was posted from a page the browser says was at ${openedAt}, not GATEWAY_PUBLIC_URL ${publicUrl.origin}; if people use ${openedAt}, link them to ${publicUrl.origin} or set GATEWAY_PUBLIC_URL to what they type`,
      'This page was opened at another address than the site’s own. Open the site at its own address and sign in there.',
    );
  }
}

export class BadLoginRequestError extends GatewayError {
  readonly status = 400;
  constructor(detail: string, userMessage: string) {
    super(detail, userMessage);
  }
}
