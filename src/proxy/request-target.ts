/**
 * The request target exactly as Paperless will receive it. http-proxy-3 rebuilds the upstream
 * path with the WHATWG URL parser, which resolves `..` and `%2e%2e` segments, turns `\` into
 * `/` and re-encodes characters. Deciding on the raw target while forwarding the parsed one let
 * `/share/../api/…` past the sign-in, so the gateway parses once, up front, the same way, and
 * every later decision and the forwarder see that one string.
 */
const BASE = 'http://base.invalid';

/** The canonical `path?query`, or undefined when the target cannot be parsed at all. */
export function canonicalTarget(raw: string): string | undefined {
  try {
    // As http-proxy-3 does: `//x` would otherwise be read as a host.
    const url = new URL(raw.startsWith('//') ? `${BASE}${raw}` : raw, BASE);
    return `${url.pathname}${url.search}`;
  } catch {
    return undefined;
  }
}

/**
 * Paperless's share-link route, `share/(?P<slug>\w+)/?$`, on the canonical path. Only exactly
 * this is public: a target that Django would decode into something else needs a sign-in.
 */
const SHARE_ROUTE = /^\/share\/[A-Za-z0-9_]+\/?$/;

export function isShareLink(path: string): boolean {
  return SHARE_ROUTE.test(path);
}
