import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { Logger } from 'pino';
import { PendingReplies } from './pending-replies.js';

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

/** Where /_gateway/metrics gets its text. */
export interface MetricsSource {
  contentType: string;
  text(): Promise<string>;
}

/**
 * Several registries of one process (its threads') as one: a metric both hold is summed as
 * prom-client sums workers; one that only one holds keeps its own value (prom-client's
 * aggregators would otherwise drop or average the process's own, such as its start time).
 */
export async function combinedMetrics(registries: readonly Registry[]): Promise<string> {
  const [only] = registries;
  if (registries.length === 1 && only) return only.metrics();
  const lists = await Promise.all(registries.map((registry) => registry.getMetricsAsJSON()));
  const holders = new Map<string, number>();
  for (const list of lists) for (const metric of list) holders.set(metric.name, (holders.get(metric.name) ?? 0) + 1);
  const marked = lists.map((list) => list.map((metric) => (holders.get(metric.name) === 1 ? { ...metric, aggregator: 'sum' as const } : metric)));
  return AggregatorRegistry.aggregate(marked).metrics();
}

/**
 * This process's registries (one per thread), or, in a worker once started, every worker's
 * metrics summed by the primary (each worker answers the primary's aggregation requests).
 */
export class ClusterMetrics implements MetricsSource {
  private readonly replies = new PendingReplies<string>({ timedOut: 'the workers did not report their metrics within 5 s', failed: (error) => error ?? 'no metrics' });
  private send: ((message: MetricsRequest) => void) | undefined;

  constructor(private readonly registries: readonly Registry[]) {}

  get contentType(): string {
    return Registry.PROMETHEUS_CONTENT_TYPE;
  }

  /** In a worker: answer the primary's aggregation requests and hear the replies to ours. Called once at start. */
  start(): void {
    const send = process.send?.bind(process);
    if (!cluster.isWorker || !send || this.send) return;
    this.send = (message) => send(message);
    // prom-client answers the primary's aggregation requests in a worker once an AggregatorRegistry
    // has been made there (its constructor adds the listener), from the registries named here.
    AggregatorRegistry.setRegistries([...this.registries]);
    new AggregatorRegistry();
    process.on('message', (message: unknown) => {
      if (isMessage<MetricsReply>(message, REPLY)) this.replies.answer(message.id, { value: message.text, error: message.error });
    });
  }

  text(): Promise<string> {
    const send = this.send;
    if (!send) return combinedMetrics(this.registries);
    return this.replies.ask((id) => send({ type: REQUEST, id }));
  }
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
