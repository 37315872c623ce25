import express, { type Router } from 'express';

/** Liveness only: no dependency is checked, so Docker never restarts a gateway because Redis blinked. */
export function healthRouter(): Router {
  const router = express.Router();
  router.get('/_gateway/health', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  return router;
}
