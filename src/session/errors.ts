import { GatewayError } from '../errors.js';

export class SessionStoreUnavailableError extends GatewayError {
  readonly status = 503;
  constructor(detail: string, options?: { cause?: unknown }) {
    super(detail, 'The session store (Redis) is unavailable, so nobody can be signed in right now. Please try again in a moment.', options);
  }
}
