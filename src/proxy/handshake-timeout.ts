import { GatewayError } from '../errors.js';

/**
 * Paperless did not answer a websocket handshake within GATEWAY_WEBSOCKET_HANDSHAKE_TIMEOUT.
 * Its server (granian 2.5.4) never answers a handshake Channels denies, so this bound, not the
 * upstream timeout, decides how long such a handshake holds a socket of the pool.
 */
export class HandshakeTimeoutError extends GatewayError {
  readonly status = 504;
  constructor(detail: string, options?: { cause?: unknown }) {
    super(detail, 'Paperless did not answer the live-update connection in time. Reload the page to try again.', options);
  }
}
