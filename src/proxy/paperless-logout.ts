import type { Logger } from 'pino';
import type { PaperlessCaller, PaperlessClient } from '../paperless/client.js';

/**
 * Ends one of Paperless's own sessions at logout. Sent without the identity header, which would
 * sign the user straight back in; a failure is logged, and the gateway's logout goes on (the
 * Paperless session is useless without the gateway's anyway, since it never leaves the jar).
 */
async function endSession(paperless: PaperlessClient, log: Logger, method: string, path: string, caller: PaperlessCaller): Promise<void> {
  try {
    await paperless.call(method, path, caller);
  } catch (err) {
    log.warn({ err: String(err), path }, 'could not end the Paperless session at logout');
  }
}

/** A browser's session, by its cookies and the Host it was made for. */
export function paperlessLogout(paperless: PaperlessClient, log: Logger): (cookie: string, host: string | undefined) => Promise<void> {
  return (cookie, host) => endSession(paperless, log, 'GET', '/accounts/logout/', { cookie, ...(host ? { host } : {}) });
}

/** An app's headless session (Paperless 3.x), by its session token. */
export function paperlessAppLogout(paperless: PaperlessClient, log: Logger): (sessionToken: string) => Promise<void> {
  return (sessionToken) => endSession(paperless, log, 'DELETE', '/api/auth/headless/app/v1/auth/session', { sessionToken });
}
