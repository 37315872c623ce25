import { timingSafeEqual } from 'node:crypto';
import express, { type Router } from 'express';
import { registry } from './metrics.js';
import { metricsText } from './cluster.js';

/** A dependency check for /_gateway/ready: resolves when the dependency answers, throws with why not. */
export type ReadinessCheck = () => Promise<unknown>;

export interface OpsDeps {
  checks: Record<string, ReadinessCheck>;
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

  router.get('/_gateway/metrics', async (req, res) => {
    if (deps.metricsToken) {
      const given = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1] ?? '';
      if (!sameSecret(given, deps.metricsToken)) {
        res.status(401).set('WWW-Authenticate', 'Bearer').json({ detail: 'A valid metrics token is required (GATEWAY_METRICS_TOKEN).' });
        return;
      }
    }
    res.set('Content-Type', registry.contentType).send(await metricsText());
  });

  return router;
}
