import { GatewayError } from '../errors.js';

export class LoginFormExpiredError extends GatewayError {
  readonly status = 403;
  constructor(detail: string) {
    super(detail, 'The sign-in form expired or came from another site. Please try again.');
  }
}

export class BadLoginRequestError extends GatewayError {
  readonly status = 400;
  constructor(detail: string, userMessage: string) {
    super(detail, userMessage);
  }
}
