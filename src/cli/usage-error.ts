import { GatewayError } from '../errors.js';

/** A wrong command line; the message says what to type (exit code 2). */
export class CommandUsageError extends GatewayError {
  readonly status = 400;
  constructor(message: string) {
    super(message, message);
  }
}
