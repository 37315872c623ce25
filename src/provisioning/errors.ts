import { GatewayError } from '../errors.js';

/** The directory name is the Paperless user whose token the gateway provisions with: signing in as it would hand out that superuser. */
export class ReservedAccountError extends GatewayError {
  readonly status = 403;
  constructor(username: string) {
    super(
      `${username} is the Paperless user of GATEWAY_PAPERLESS_TOKEN: nobody signs in as it through the gateway, and provisioning never changes it`,
      'This account is kept for the gateway itself and cannot sign in here. Ask your administrator.',
    );
  }
}

/**
 * Paperless cannot say whose its token is, and no thread or replica has learnt it before: nobody
 * can be told apart from the token's superuser, so nobody is let in, whatever
 * GATEWAY_PROVISIONING_FAILURE says. The person is told what Paperless's failure tells them.
 */
export class TokenUserUnknownError extends GatewayError {
  readonly status: number;
  constructor(username: string, options: { cause: unknown }) {
    const { cause } = options;
    super(
      `cannot tell whether ${username} is the Paperless user of GATEWAY_PAPERLESS_TOKEN: Paperless did not say (${cause instanceof Error ? cause.message : String(cause)}) and no replica learnt it before`,
      cause instanceof GatewayError ? cause.userMessage : 'Paperless cannot be reached to check this account right now. Please try again in a few minutes.',
      options,
    );
    this.status = cause instanceof GatewayError ? cause.status : 503;
  }
}

/** A Paperless account with a local password that the gateway did not make: taking it over needs the admin's say. */
export class LocalAccountError extends GatewayError {
  readonly status = 403;
  constructor(username: string) {
    super(
      `Paperless already has a local account ${username} (it has a password of its own) that the gateway did not create; set GATEWAY_PROVISIONING_ADOPT_LOCAL_USERS=true to let directory users take over such accounts`,
      'A local Paperless account with your name already exists, so the gateway will not take it over. Ask your administrator.',
    );
  }
}

/** The mapping names a permission that the Paperless the gateway talks to does not have. */
export class MappingVersionMismatchError extends GatewayError {
  readonly status = 502;
  constructor(detail: string, options?: { cause?: unknown }) {
    super(
      `GATEWAY_PROVISIONING_FILE does not fit this Paperless: ${detail}`,
      'Paperless could not be updated with your account details: the group mapping of the gateway does not fit this Paperless version. Ask your administrator.',
      options,
    );
  }
}
