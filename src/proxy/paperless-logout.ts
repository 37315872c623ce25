import type { Logger } from 'pino';
import type { PaperlessClient } from '../provisioning/paperless-client.js';

/**
 * Ends Paperless's own session at logout. Sent without the identity header, which would sign
 * the user straight back in; a failure is logged, and the gateway's logout goes on (the
 * Paperless session is useless without the gateway's anyway, since it never leaves the jar).
 */
export function paperlessLogout(paperless: PaperlessClient, log: Logger): (cookie: string, host: string | undefined) => Promise<void> {
  return async (cookie, host) => {
    try {
      await paperless.call('GET', '/accounts/logout/', { cookie, ...(host ? { host } : {}) });
    } catch (err) {
      log.warn({ err: String(err) }, 'could not end the Paperless session at logout');
    }
  };
}
