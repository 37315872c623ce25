import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TalliedHistogram } from './tallied-histogram.js';

/**
 * The gateway's Prometheus metrics, one set per process (each replica is scraped on its own).
 * Built by the composition root and handed to each part as the slice it records (`Pick<Metrics, …>`),
 * so nothing records into a registry it was not given and tests can read their own.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly logins = new Counter({ name: 'gateway_logins_total', help: 'Sign-in attempts by outcome and way (form, api-token, basic)', labelNames: ['outcome', 'via'] as const, registers: [this.registry] });
  readonly directoryDuration = new Histogram({
    name: 'gateway_directory_operation_seconds',
    help: 'Duration of directory operations',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /** One observation per proxied request: tallied lean, exposed as prom-client's own histogram. */
  readonly proxied = new TalliedHistogram('status_class', {
    name: 'gateway_proxied_request_seconds',
    help: 'Duration of requests proxied to Paperless, by status class',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly websockets = new Gauge({ name: 'gateway_websockets_active', help: 'Open proxied websockets', registers: [this.registry] });
  readonly provisioningCalls = new Counter({ name: 'gateway_provisioning_calls_total', help: 'Paperless API calls made for provisioning, by result', labelNames: ['result'] as const, registers: [this.registry] });
  readonly provisioningFailures = new Counter({ name: 'gateway_provisioning_failures_total', help: 'Sign-ins whose provisioning failed', registers: [this.registry] });
  readonly redisErrors = new Counter({ name: 'gateway_redis_errors_total', help: 'Redis connection errors', registers: [this.registry] });
  readonly bans = new Counter({ name: 'gateway_bans_total', help: 'Bans started by the regulation, by limit', labelNames: ['limit'] as const, registers: [this.registry] });
  readonly secondFactors = new Counter({
    name: 'gateway_second_factor_total',
    help: 'Second-step attempts by outcome (success, invalid, banned) and method (totp, recovery)',
    labelNames: ['outcome', 'method'] as const,
    registers: [this.registry],
  });
  readonly passwordChanges = new Counter({
    name: 'gateway_password_changes_total',
    help: 'Password changes by outcome (changed, wrong_current, rejected, error) and where (account, sign-in)',
    labelNames: ['outcome', 'where'] as const,
    registers: [this.registry],
  });
  private collecting = false;

  /** Node's process metrics (memory, CPU, event-loop lag): started with the server, since the lag monitor runs until exit. */
  collectProcessMetrics(): void {
    if (this.collecting) return;
    this.collecting = true;
    collectDefaultMetrics({ register: this.registry, prefix: 'gateway_process_' });
  }
}

/** The usual labels, built once: the proxied path labels every answer. */
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

export function statusClass(status: number): string {
  return STATUS_CLASSES[Math.floor(status / 100) - 1] ?? `${Math.floor(status / 100)}xx`;
}
