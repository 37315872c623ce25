import type { RedisClient as Redis } from '../redis/client.js';
import type { Logger } from 'pino';
import type { Directory } from '../directory/directory.js';
import type { Provisioner } from './provisioner.js';
import { applySync, planSync, type RevokeSessions } from './sync.js';

export interface ScheduledSyncOptions {
  intervalMs: number;
  deprovision: boolean;
  /** The deprovisioning guard's share (see SyncOptions); its default when absent. */
  maxDeprovisionShare?: number;
  allowedGroups: readonly string[];
  syncLock: string;
}

/**
 * Runs `sync` inside the server every interval. The Redis lock is taken for
 * the whole interval and never released early, so however many replicas
 * run, one sync happens per interval.
 */
export function startScheduledSync(redis: Redis, directory: Directory, provisioner: Provisioner, revoke: RevokeSessions, options: ScheduledSyncOptions, log: Logger): () => void {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const claimed = await redis.set(options.syncLock, String(process.pid), 'PX', options.intervalMs, 'NX');
      if (claimed !== 'OK') return;
      const syncOptions = { deprovision: options.deprovision, ...(options.maxDeprovisionShare === undefined ? {} : { maxDeprovisionShare: options.maxDeprovisionShare }) };
      const plan = await planSync(directory, options.allowedGroups, provisioner, syncOptions);
      const summary = await applySync(plan, provisioner, revoke, syncOptions);
      log.info({ event: 'sync.finished', ...summary }, 'scheduled sync finished');
    } catch (err) {
      log.error({ event: 'sync.failed', err: String(err) }, 'scheduled sync failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
