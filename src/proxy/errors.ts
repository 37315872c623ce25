import { GatewayError } from '../errors.js';

export class UpstreamUnavailableError extends GatewayError {
  readonly status = 502;
  constructor(detail: string, options?: { cause?: unknown }) {
    super(detail, 'Paperless is unreachable right now. Please try again in a moment.', options);
  }
}
