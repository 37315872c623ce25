import type { Directory } from '../directory/directory.js';
import type { PaperlessApi } from '../paperless/api.js';
import type { PaperlessClient } from '../paperless/client.js';
import { pingRedis, type RedisClient } from '../redis/client.js';
import type { ReadinessCheck } from '../ops/health.js';

/**
 * What /_gateway/ready asks: Redis, the directory, and Paperless — with a token, through the
 * API as provisioning uses it; without, any answer from Paperless will do.
 */
export function readinessChecks(deps: { redis: RedisClient; redisUrl: string; directory: Directory; paperlessApi?: PaperlessApi; paperless: PaperlessClient }): Record<string, ReadinessCheck> {
  const { redis, directory, paperlessApi, paperless } = deps;
  return {
    redis: () => pingRedis(redis, deps.redisUrl),
    directory: () => directory.check(),
    paperless: paperlessApi ? () => paperlessApi.whoami() : () => paperless.call('HEAD', '/', { anonymous: true }),
  };
}
