import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { metrics } from '../ops/metrics.js';

/**
 * A Redis client that fails fast while Redis is down (no offline queue, one
 * retry) so requests get a 503 at once instead of hanging, and that keeps
 * reconnecting in the background so the gateway recovers without a restart.
 */
export function createRedis(url: string, log: Logger, role: string): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
    lazyConnect: false,
  });
  let down = false;
  client.on('error', (err: Error) => {
    metrics.redisErrors.inc();
    if (!down) log.error({ err: err.message, role }, 'redis connection failed');
    down = true;
  });
  client.on('ready', () => {
    if (down) log.info({ role }, 'redis connection restored');
    down = false;
  });
  return client;
}

/** Resolves once the client is ready, or rejects after `ms`; used at startup. */
export function waitReady(client: Redis, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis not reachable within ${ms} ms`));
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
