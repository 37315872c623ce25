import { GatewayError } from '../errors.js';

export class SessionStoreUnavailableError extends GatewayError {
  readonly status = 503;
  constructor(detail: string, options?: { cause?: unknown }) {
    super(detail, 'The session store (Redis) is unavailable, so nobody can be signed in right now. Please try again in a moment.', options);
  }
}

/** Runs Redis work, turning any failure into the outage error pages understand (503), never a wrong verdict. */
export async function storeCall<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new SessionStoreUnavailableError(`${what}: ${String(err)}`, { cause: err });
  }
}
