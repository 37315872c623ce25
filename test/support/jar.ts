import { unsign } from 'cookie-signature';
import { Redis } from 'ioredis';
import { SESSION_SECRET } from './gateway.js';
import type { Browser } from './http-client.js';

/**
 * Paperless's session id that the gateway keeps for a browser's gateway session (its server-side
 * jar in Redis); the browser itself never holds it.
 */
export async function paperlessSessionOf(redisUrl: string, browser: Browser): Promise<string | undefined> {
  const raw = decodeURIComponent(browser.jar.get('gateway_session') ?? '');
  const sid = raw.startsWith('s:') ? unsign(raw.slice(2), SESSION_SECRET) : false;
  if (sid === false) return undefined;
  const redis = new Redis(redisUrl);
  try {
    return (await redis.get(`gateway:paperless-session:${sid}`)) ?? undefined;
  } finally {
    redis.disconnect();
  }
}
