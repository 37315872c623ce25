import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from 'pino';
import { registry } from './metrics.js';

/**
 * GATEWAY_WORKERS: one process per core with node:cluster. Workers share
 * nothing but Redis (sessions, bans, locks, the session-ended channel), so
 * they behave like replicas; the primary only forks, restarts and relays
 * metrics, so one scrape still sees the whole gateway.
 */
const REQUEST = 'gateway:metrics-request';
const REPLY = 'gateway:metrics-reply';

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}
interface MetricsReply {
  type: typeof REPLY;
  id: number;
  text?: string;
  error?: string;
}

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

const pending = new Map<number, (reply: MetricsReply) => void>();
let nextId = 0;
let joined = false;

/**
 * Called once in a worker at start (never on import): the worker answers the primary's
 * aggregation requests and hears the replies to its own.
 */
export function joinClusterMetrics(): void {
  if (!cluster.isWorker || joined) return;
  joined = true;
  // prom-client answers the primary's aggregation requests in a worker once an AggregatorRegistry
  // has been made there (its constructor adds the listener), from the registries named here.
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();
  process.on('message', (message: unknown) => {
    if (isMessage<MetricsReply>(message, REPLY)) pending.get(message.id)?.(message);
  });
}

/** /_gateway/metrics: this process's metrics, or, in a worker, every worker's summed by the primary. */
export async function metricsText(): Promise<string> {
  const send = process.send?.bind(process);
  if (!cluster.isWorker || !send) return registry.metrics();
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error('the workers did not report their metrics within 5 s'));
    }, 5000);
    pending.set(id, (reply) => {
      clearTimeout(timer);
      pending.delete(id);
      if (reply.text !== undefined) resolve(reply.text);
      else reject(new Error(reply.error ?? 'no metrics'));
    });
    send({ type: REQUEST, id } satisfies MetricsRequest);
  });
}

/** How many unexpected worker exits within a minute mean "something is wrong", not "a worker crashed". */
const CRASH_LIMIT = 5;

/** Runs in the primary: forks `count` workers, replaces any that die, and stops them all on SIGTERM/SIGINT. */
export function runWorkers(count: number, log: Logger): void {
  const aggregator = new AggregatorRegistry();
  const deaths: number[] = [];
  let stopping = false;
  let failed = false;

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if (!isMessage<MetricsRequest>(message, REQUEST)) return;
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: REPLY, id: message.id, text } satisfies MetricsReply),
        (err: Error) => worker.send({ type: REPLY, id: message.id, error: err.message } satisfies MetricsReply),
      );
    });
    return worker;
  };

  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down the workers');
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(failed ? 1 : 0);
    for (const worker of workers) worker?.process.kill('SIGTERM');
  };

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      // A worker still starting has no handler yet, and SIGTERM ends it directly: that is a clean stop too.
      if (code !== 0 && signal !== 'SIGTERM') failed = true;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
      return;
    }
    const now = Date.now();
    deaths.push(now);
    while (deaths.length && (deaths[0] ?? now) < now - 60_000) deaths.shift();
    if (deaths.length >= CRASH_LIMIT) {
      log.fatal({ pid: worker.process.pid, code, signal }, `${CRASH_LIMIT} workers died within a minute; stopping (see the errors above)`);
      failed = true;
      stop('crash loop');
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, 'a worker exited; starting another');
    fork();
  });

  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log.info({ workers: count }, 'starting workers');
  for (let i = 0; i < count; i += 1) fork();
}
