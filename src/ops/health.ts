import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Router } from 'express';
import { sameSecret } from '../same-secret.js';
import { pathOf } from '../url-path.js';
import type { MetricsSource } from './cluster.js';

/** A dependency check for /_gateway/ready: resolves when the dependency answers, throws with why not. */
export type ReadinessCheck = () => Promise<unknown>;

export interface OpsDeps {
  checks: Record<string, ReadinessCheck>;
  /** GATEWAY_METRICS_TOKEN: its holder gets why a readiness check fails, and the latencies. */
  metricsToken?: string;
  timeoutMs: number;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

interface CheckResult {
  status: 'up' | 'down';
  latencyMs: number;
  error?: string;
}

async function runChecks(checks: Record<string, ReadinessCheck>, timeoutMs: number): Promise<Array<readonly [string, CheckResult]>> {
  return Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      const start = performance.now();
      try {
        await withTimeout(check(), timeoutMs);
        return [name, { status: 'up', latencyMs: Math.round(performance.now() - start) }] as const;
      } catch (err) {
        return [name, { status: 'down', latencyMs: Math.round(performance.now() - start), error: err instanceof Error ? err.message : String(err) }] as const;
      }
    }),
  );
}

/** Whether `Authorization` is `Bearer <token>`, compared in constant time. */
function bearerIs(authorization: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1] ?? '';
  return sameSecret(given, token);
}

/**
 * The gateway's own endpoints under /_gateway/ (never proxied): liveness,
 * readiness with each dependency's status (and, for the metrics token, latency and error), Prometheus metrics.
 */
export function opsRouter(deps: OpsDeps): Router {
  const router = express.Router();

  // Callers that come while the checks run share that run: a crowd of anonymous probes costs
  // the directory and Paperless one check each, not one per probe.
  let running: Promise<Array<readonly [string, CheckResult]>> | undefined;
  const readiness = (): Promise<Array<readonly [string, CheckResult]>> => {
    running ??= runChecks(deps.checks, deps.timeoutMs).finally(() => (running = undefined));
    return running;
  };

  // Liveness only: no dependency is checked, so Docker never restarts a gateway because Redis blinked.
  router.get('/_gateway/health', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });

  /**
   * Readiness for load balancers and people. Anyone gets the status code and a bare ok/failing
   * per check; why a check fails (which setting to look at, what Paperless or the directory
   * answered) and the latencies are for holders of the metrics token alone: they tell an
   * attacker how the gateway is set up.
   */
  router.get('/_gateway/ready', async (req, res) => {
    const entries = await readiness();
    const ready = entries.every(([, r]) => r.status === 'up');
    const detailed = deps.metricsToken !== undefined && bearerIs(req.get('authorization'), deps.metricsToken);
    const checks = detailed ? Object.fromEntries(entries) : Object.fromEntries(entries.map(([name, r]) => [name, r.status === 'up' ? 'ok' : 'failing']));
    res.status(ready ? 200 : 503).set('Cache-Control', 'no-store').json({ status: ready ? 'ready' : 'unavailable', checks });
  });

  return router;
}

/** A scrape's answer. */
interface ScrapeAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The scrape itself; with a token set, only `Authorization: Bearer <token>` gets it. */
async function scrape(metrics: MetricsSource, authorization: string | undefined, token: string | undefined): Promise<ScrapeAnswer> {
  if (token) {
    if (!bearerIs(authorization, token)) {
      return { status: 401, headers: { 'Content-Type': JSON_TYPE, 'WWW-Authenticate': 'Bearer' }, body: JSON.stringify({ detail: 'A valid metrics token is required (GATEWAY_METRICS_TOKEN).' }) };
    }
  }
  return { status: 200, headers: { 'Content-Type': metrics.contentType }, body: await metrics.text() };
}

/**
 * GATEWAY_METRICS_ADDRESS: a listener that serves only GET /metrics, for a network only
 * Prometheus reaches. Plain Node, not Express: it runs in the proxying thread, which Express
 * objects would slow down (CONTRIBUTING.md, "Two threads in each process").
 */
export function metricsListener(metrics: MetricsSource, token: string | undefined): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = pathOf(req.url);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || (path !== '/metrics' && path !== '/_gateway/metrics')) {
      send(res, { status: 404, headers: { 'Content-Type': JSON_TYPE }, body: JSON.stringify({ detail: 'This listener serves only GET /metrics.' }) });
      return;
    }
    scrapeTo(res, metrics, req.headers.authorization, token);
  };
}

/** GET or HEAD /_gateway/metrics on the public listener: answered where the metrics are, never handed to the pages thread. */
export function isPublicMetricsRequest(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && pathOf(req.url) === '/_gateway/metrics';
}

/**
 * /_gateway/metrics on the public listener. It needs the token: counts of logins, bans and users
 * are no one else's business.
 */
export function publicMetrics(metrics: MetricsSource, token: string | undefined): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!token) {
      send(res, { status: 404, headers: { 'Content-Type': JSON_TYPE }, body: JSON.stringify({ detail: 'Metrics are not served on the public listener without a token: set GATEWAY_METRICS_ADDRESS (a listener of their own) or GATEWAY_METRICS_TOKEN.' }) });
      return;
    }
    scrapeTo(res, metrics, req.headers.authorization, token);
  };
}

function send(res: ServerResponse, answer: ScrapeAnswer): void {
  res.writeHead(answer.status, { ...answer.headers, 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(answer.body)) });
  res.end(answer.body);
}

function scrapeTo(res: ServerResponse, metrics: MetricsSource, authorization: string | undefined, token: string | undefined): void {
  scrape(metrics, authorization, token).then(
    (answer) => send(res, answer),
    (err: Error) => send(res, { status: 500, headers: { 'Content-Type': JSON_TYPE }, body: JSON.stringify({ detail: `The metrics could not be gathered: ${err.message}` }) }),
  );
}
