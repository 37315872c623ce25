import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The gateway's Prometheus metrics, one registry per process (each replica is scraped on its own). */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'gateway_process_' });

export const metrics = {
  logins: new Counter({ name: 'gateway_logins_total', help: 'Sign-in attempts by outcome and way (form, api-token, basic)', labelNames: ['outcome', 'via'] as const, registers: [registry] }),
  directoryDuration: new Histogram({
    name: 'gateway_directory_operation_seconds',
    help: 'Duration of directory operations',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  proxied: new Histogram({
    name: 'gateway_proxied_request_seconds',
    help: 'Duration of requests proxied to Paperless, by status class',
    labelNames: ['status_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  }),
  websockets: new Gauge({ name: 'gateway_websockets_active', help: 'Open proxied websockets', registers: [registry] }),
  provisioningCalls: new Counter({ name: 'gateway_provisioning_calls_total', help: 'Paperless API calls made for provisioning, by result', labelNames: ['result'] as const, registers: [registry] }),
  provisioningFailures: new Counter({ name: 'gateway_provisioning_failures_total', help: 'Sign-ins whose provisioning failed', registers: [registry] }),
  redisErrors: new Counter({ name: 'gateway_redis_errors_total', help: 'Redis connection errors', registers: [registry] }),
  bans: new Counter({ name: 'gateway_bans_total', help: 'Bans started by the regulation, by limit', labelNames: ['limit'] as const, registers: [registry] }),
};

export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}
