import { GatewayError } from '../errors.js';

/** What the gateway needed Redis for when it failed: the person is told what does not work. */
export type RedisPurpose = 'sessions' | 'regulation' | 'provisioning' | 'second factors';

const USER_MESSAGES: Record<RedisPurpose, string> = {
  sessions: 'The session store (Redis) is unavailable, so nobody can be signed in right now. Please try again in a moment.',
  regulation: 'Sign-in attempts cannot be counted because Redis is unavailable, so nobody can sign in right now. Please try again in a moment.',
  provisioning: 'Your Paperless account cannot be prepared because Redis is unavailable. Please try again in a moment.',
  'second factors': 'Second factors cannot be checked because Redis is unavailable, so nobody who uses one can sign in right now. Please try again in a moment.',
};

/** Redis did not answer: a 503 that says what could not be done, never a wrong verdict. */
export class RedisUnavailableError extends GatewayError {
  readonly status = 503;
  constructor(
    readonly purpose: RedisPurpose,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${purpose}: ${detail}`, USER_MESSAGES[purpose], options);
  }
}

/** Runs Redis work for a purpose, turning any failure into that purpose's outage error. */
export async function redisCall<T>(purpose: RedisPurpose, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new RedisUnavailableError(purpose, `${what}: ${String(err)}`, { cause: err });
  }
}
