import { createHmac, timingSafeEqual } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';

/**
 * Paperless refusing the identity header for a page (PAPERLESS_ENABLE_HTTP_REMOTE_USER off, or
 * PAPERLESS_AUDIT_LOG_ENABLED=false, which stops header login for pages: paperless-contract.md
 * §9) answers with a redirect to its login page, which the gateway serves. Only the forwarder
 * sees that happen, so it detects it there; the sign-in page cannot tell it from anyone linking
 * a signed-in person to `/accounts/login/?next=/x`.
 *
 * To let the sign-in page say so without being fooled by such a link, the forwarder adds a
 * marker to the Location: the time and an HMAC, under the session secret, of the gateway
 * session id and that time. Another site knows neither the secret nor the person's session id
 * (the cookie is HttpOnly), so it cannot make one; a marker made for one session means nothing
 * in another, and it expires after MARKER_TTL_MS. Stateless, so it holds across the two threads
 * and across replicas sharing the secret, with nothing stored.
 */

/** The query parameter carrying the marker to the sign-in page. */
export const REFUSED_PARAM = 'paperless_refused';
/** Long enough for the browser to follow the redirect (and for replicas' clocks to differ), short enough that an old URL shows nothing. */
export const MARKER_TTL_MS = 2 * 60_000;
/** Keeps this HMAC apart from any other the session secret signs. */
const PURPOSE = 'paperless-header-login-refused';

/**
 * The login-page redirect Paperless gives a request it did not sign in: Location's path is
 * `/accounts/login/` with a `next`, on the gateway's public origin or Paperless's own (Django
 * sends LOGIN_URL as configured, relative by default). Its own logout's `?loggedout=1` and the
 * share links' `?sharelink_…=1` have no `next`, and are not refusals.
 */
export function loginRedirect(location: string, publicUrl: URL, upstreamUrl: URL): URL | undefined {
  let url: URL;
  try {
    url = new URL(location, upstreamUrl);
  } catch {
    return undefined;
  }
  if (url.origin !== publicUrl.origin && url.origin !== upstreamUrl.origin) return undefined;
  if (url.pathname !== '/accounts/login/' || !url.searchParams.has('next')) return undefined;
  return url;
}

/** Makes and checks the sign-in page's marker (see above). */
export class RefusalMarker {
  constructor(
    private readonly secret: string,
    private readonly clock: Clock = systemClock,
  ) {}

  private mac(sid: string, issuedAt: string): Buffer {
    return createHmac('sha256', this.secret).update(`${PURPOSE}\0${sid}\0${issuedAt}`).digest();
  }

  make(sid: string): string {
    const issuedAt = this.clock.now().toString(36);
    return `${issuedAt}.${this.mac(sid, issuedAt).toString('base64url')}`;
  }

  /** Whether `marker` was made for this session within MARKER_TTL_MS. */
  verify(sid: string | undefined, marker: unknown): boolean {
    if (sid === undefined || typeof marker !== 'string' || marker.length > 128) return false;
    const dot = marker.indexOf('.');
    if (dot <= 0) return false;
    const issuedAt = marker.slice(0, dot);
    const at = Number.parseInt(issuedAt, 36);
    const age = this.clock.now() - at;
    // A small negative age is another replica's clock running ahead.
    if (!/^[0-9a-z]+$/.test(issuedAt) || !Number.isFinite(at) || age > MARKER_TTL_MS || age < -MARKER_TTL_MS) return false;
    const given = Buffer.from(marker.slice(dot + 1), 'base64url');
    const expected = this.mac(sid, issuedAt);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** The sign-in page's URL for a refusal: Paperless's query as it sent it (its `next` unescaped), plus the marker. */
export function markedLocation(login: URL, marker: string): string {
  return `${login.pathname}${login.search}&${REFUSED_PARAM}=${encodeURIComponent(marker)}`;
}
