import type { PaperlessClient } from '../paperless/client.js';
import { UpstreamUnavailableError } from './errors.js';

/**
 * Whether Paperless accepts a token: its profile needs nothing but an authenticated user.
 * Anything but a clear yes or no is Paperless being unavailable (the 502 page), never a guess.
 */
export function tokenCheck(client: PaperlessClient): (key: string) => Promise<boolean> {
  return async (key) => {
    let status: number;
    try {
      status = (await client.call('GET', '/api/profile/', { token: key })).status;
    } catch (err) {
      throw new UpstreamUnavailableError(`token check: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (status === 200) return true;
    if (status === 401 || status === 403) return false;
    throw new UpstreamUnavailableError(`token check: Paperless answered ${status}`);
  };
}
