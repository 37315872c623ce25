import type { SessionService } from '../session/sessions.js';
import { SESSION_ENDED, type WebsocketRegistry } from './websockets.js';

/** How often open websockets are checked against their sessions' expiry: a quarter of the idle timeout, 250 ms to 15 s. */
export function sweepInterval(idleTimeoutMs: number): number {
  return Math.min(15_000, Math.max(250, Math.floor(idleTimeoutMs / 4)));
}

/**
 * A websocket outlives the requests that would notice its session ending by idle timeout or
 * lifetime (logout and revocation announce themselves), so open sockets are checked on a timer.
 * Returns the function that stops it.
 */
export function startWebsocketSweep(websockets: WebsocketRegistry, sessions: SessionService, idleTimeoutMs: number): () => void {
  const sweep = setInterval(() => {
    const open = websockets.sessions();
    const now = Date.now();
    for (const { sid, endsAt } of open) if (now > endsAt) websockets.closeSession(sid, SESSION_ENDED);
    sessions
      .alive(open.map((o) => o.sid))
      .then((alive) => {
        for (const { sid } of open) if (!alive.has(sid)) websockets.closeSession(sid, SESSION_ENDED);
      })
      .catch(() => undefined); // Redis down: keep sockets until we can tell.
  }, sweepInterval(idleTimeoutMs));
  sweep.unref();
  return () => clearInterval(sweep);
}
