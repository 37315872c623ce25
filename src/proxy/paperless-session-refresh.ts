import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { LoadedSession, SessionService } from '../session/sessions.js';
import { parseSetCookie, rewriteCookies } from './cookies.js';
import type { Upstream } from './upstream.js';

/** The browser's handshake headers that mean nothing on a plain request. */
const HANDSHAKE_ONLY = new Set(['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol', 'upgrade', 'connection']);

/**
 * Paperless authenticates /ws/status/ by its own `sessionid` alone, never by the identity header,
 * and a browser's handshake can come before any request that would have made that session. So
 * before such a handshake (and once after a refusal: the session may have expired, been ended
 * by a logout or lost with Paperless's database) the gateway asks for a fresh one: a plain GET of
 * the handshake's own path (Paperless's catch-all UI route, under any script name) with the
 * identity header and no `sessionid`, whose answer sets the new one; it is kept in the session's
 * jar. Returns the new value, or undefined when Paperless set none (header login off, the user
 * inactive).
 */
export function paperlessSessionRefresh(deps: { upstream: Upstream; sessions: SessionService; paperlessSessionCookie: string; notForwarded: ReadonlySet<string> }) {
  return async (req: IncomingMessage, session: LoadedSession, signal: AbortSignal): Promise<string | undefined> => {
    const headers: IncomingHttpHeaders = {};
    const incoming = req.headers;
    for (const name in incoming) if (!HANDSHAKE_ONLY.has(name)) headers[name] = incoming[name];
    // Without Paperless's session cookie: the header alone makes Paperless start a new session.
    rewriteCookies(headers, deps.notForwarded);
    const answer = await deps.upstream.setCookiesOf(req.url ?? '/', headers, signal);
    let value: string | undefined;
    for (const line of answer.setCookies) {
      const cookie = parseSetCookie(line);
      if (cookie.name === deps.paperlessSessionCookie && !cookie.deletes) value = cookie.value;
    }
    if (value !== undefined) await deps.sessions.setPaperlessSession(session, value);
    return value;
  };
}
