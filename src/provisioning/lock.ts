import { randomBytes } from 'node:crypto';
import type { RedisClient as Redis } from '../redis/client.js';
import { GatewayError } from '../errors.js';

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** Another replica holds the lock for too long (a stuck provisioning); the person can simply retry. */
export class LockTimeoutError extends GatewayError {
  readonly status = 503;
  constructor(message: string) {
    super(message, 'Your account is being set up by another sign-in right now. Please try again in a moment.');
  }
}

/**
 * A Redis lock shared by every replica (SET NX PX, released only by its
 * owner). Waits up to `waitMs` for it; the TTL frees it if a holder dies.
 */
export async function withLock<T>(redis: Redis, key: string, options: { ttlMs: number; waitMs: number }, work: () => Promise<T>): Promise<T> {
  const token = randomBytes(16).toString('hex');
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    if ((await redis.set(key, token, 'PX', options.ttlMs, 'NX')) === 'OK') break;
    if (Date.now() > deadline) throw new LockTimeoutError(`lock ${key} still held after ${options.waitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    return await work();
  } finally {
    await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
  }
}
