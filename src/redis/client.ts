import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.js';
import { parseRedisUrl } from '../config/redis-url.js';

/** One Redis server, a Sentinel-watched master, or a Cluster: every caller treats them alike. */
export type RedisClient = Redis | Cluster;

/**
 * Fail fast while Redis is down (no offline queue, one retry) so requests get
 * a 503 at once instead of hanging, and keep reconnecting in the background
 * so the gateway recovers without a restart (after a Sentinel failover too).
 */
const backoff = (attempt: number): number => Math.min(100 * 2 ** Math.min(attempt, 5), 2000);

const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  commandTimeout: 2000,
  retryStrategy: backoff,
};

function connect(url: string): RedisClient {
  const target = parseRedisUrl(url);
  if (target.kind === 'single') return new Redis(url, FAIL_FAST);
  const auth = { ...(target.password ? { password: target.password } : {}), ...(target.username ? { username: target.username } : {}) };
  if (target.kind === 'sentinel') {
    return new Redis({ ...FAIL_FAST, ...auth, sentinels: target.sentinels, name: target.name, db: target.db, sentinelRetryStrategy: backoff });
  }
  return new Cluster(target.nodes, {
    enableOfflineQueue: false,
    clusterRetryStrategy: backoff,
    redisOptions: { ...FAIL_FAST, ...auth },
  });
}

/** Where the client keeps its last connection error, for pingRedis to say why Redis is down. */
const LAST_ERROR = Symbol('lastConnectionError');
type Explained = RedisClient & { [LAST_ERROR]?: Error };

/** `metrics` counts connection errors; short-lived commands (check-config, sync) pass none. */
export function createRedis(url: string, log: Logger, role: string, metrics?: Pick<Metrics, 'redisErrors'>): RedisClient {
  const client: Explained = connect(url);
  let down = false;
  client.on('error', (err: Error) => {
    client[LAST_ERROR] = err;
    metrics?.redisErrors.inc();
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
export function waitReady(client: RedisClient, ms: number): Promise<void> {
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

/**
 * PING, with a failure said in words: with the offline queue off, a command on a client that is
 * not connected fails with ioredis's "Stream isn't writeable…", which tells an admin nothing.
 */
export async function pingRedis(client: RedisClient, url: string): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.ping();
      return;
    } catch (err) {
      throw new Error(redisDownMessage(url, err instanceof Error ? err : new Error(String(err))));
    }
  }
  throw new Error(redisDownMessage(url, (client as Explained)[LAST_ERROR]));
}

function redisDownMessage(url: string, cause: Error | undefined): string {
  const where = redisAddress(url);
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const text = cause?.message ?? '';
  const reason =
    code === 'ECONNREFUSED' ? 'nothing accepts connections there (connection refused)'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'its host name does not resolve'
    : code === 'ETIMEDOUT' || /timed? ?out/i.test(text) ? 'it does not answer (timed out)'
    : /NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(text) ? 'it refused the user name or password in GATEWAY_REDIS_URL'
    : cause ? cause.message
    : 'the gateway is not connected to it yet';
  return `Redis at ${where} is unreachable: ${reason}. Check that Redis runs and that GATEWAY_REDIS_URL points at it.`;
}

/** The servers of GATEWAY_REDIS_URL, without its password. */
function redisAddress(url: string): string {
  const m = /^[a-z+]+:\/\/(?:[^@/]*@)?([^/?#]+)/i.exec(url.trim());
  return m?.[1] ?? 'GATEWAY_REDIS_URL';
}
