/**
 * Base of every error the gateway raises on purpose. `userMessage` is safe to
 * show to the person at the browser; `message` may carry detail for the log.
 */
export abstract class GatewayError extends Error {
  abstract readonly status: number;
  constructor(
    message: string,
    readonly userMessage: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
