import { GatewayError } from '../errors.js';

/** Paperless's API refused or failed a provisioning call; `message` says why, for the log and `sync`. */
export class PaperlessApiError extends GatewayError {
  readonly status = 502;
  constructor(
    message: string,
    readonly httpStatus?: number,
    options?: { cause?: unknown },
  ) {
    super(message, 'Your password is correct, but Paperless could not be updated with your account details, so you are not signed in. Please try again in a moment.', options);
  }
}
