import { timingSafeEqual } from 'node:crypto';
import express, { type Response, type Router } from 'express';
import type { MetricsSource } from './cluster.js';

/** A dependency check for /_gateway/ready: resolves when the dependency answers, throws with why not. */
export type ReadinessCheck = () => Promise<unknown>;

export interface OpsDeps {
  checks: Record<string, ReadinessCheck>;
  metrics: MetricsSource;
  /** When set, /_gateway/metrics wants `Authorization: Bearer <token>`. */
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

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The gateway's own endpoints under /_gateway/ (never proxied): liveness,
 * readiness with each dependency's status and latency, Prometheus metrics.
 */
export function opsRouter(deps: OpsDeps): Router {
  const router = express.Router();

  // Liveness only: no dependency is checked, so Docker never restarts a gateway because Redis blinked.
  router.get('/_gateway/health', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });

  router.get('/_gateway/ready', async (_req, res) => {
    const entries = await Promise.all(
      Object.entries(deps.checks).map(async ([name, check]) => {
        const start = performance.now();
        try {
          await withTimeout(check(), deps.timeoutMs);
          return [name, { status: 'up', latencyMs: Math.round(performance.now() - start) }] as const;
        } catch (err) {
          return [name, { status: 'down', latencyMs: Math.round(performance.now() - start), error: err instanceof Error ? err.message : String(err) }] as const;
        }
      }),
    );
    const ready = entries.every(([, r]) => r.status === 'up');
    res.status(ready ? 200 : 503).set('Cache-Control', 'no-store').json({ status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(entries) });
  });

  // On the public listener metrics need the token: counts of logins, bans and users are no one else's business.
  router.get('/_gateway/metrics', async (req, res) => {
    if (!deps.metricsToken) {
      res.status(404).json({ detail: 'Metrics are not served on the public listener without a token: set GATEWAY_METRICS_ADDRESS (a listener of their own) or GATEWAY_METRICS_TOKEN.' });
      return;
    }
    await serveMetrics(deps.metrics, req.get('authorization'), deps.metricsToken, res);
  });

  return router;
}

/** The scrape itself; with a token set, only `Authorization: Bearer <token>` gets it. */
async function serveMetrics(metrics: MetricsSource, authorization: string | undefined, token: string | undefined, res: Response): Promise<void> {
  if (token) {
    const given = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1] ?? '';
    if (!sameSecret(given, token)) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ detail: 'A valid metrics token is required (GATEWAY_METRICS_TOKEN).' });
      return;
    }
  }
  res.set('Content-Type', metrics.contentType).send(await metrics.text());
}

/** GATEWAY_METRICS_ADDRESS: a listener that serves only GET /metrics, for a network only Prometheus reaches. */
export function metricsListener(metrics: MetricsSource, token: string | undefined): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get(['/metrics', '/_gateway/metrics'], (req, res, next) => {
    serveMetrics(metrics, req.get('authorization'), token, res).catch(next);
  });
  app.use((_req, res) => {
    res.status(404).json({ detail: 'This listener serves only GET /metrics.' });
  });
  return app;
}
