/**
 * The request target exactly as Paperless will receive it. The gateway parses each target once,
 * up front, with the WHATWG URL parser (it resolves `..` and `%2e%2e` segments, turns `\` into
 * `/` and re-encodes characters), and every later decision and the forwarding core (undici sends
 * the path as given, for requests and websocket handshakes) see that one string. Deciding on the
 * raw target while a proxy forwarded a parsed one (http-proxy-3, which once carried websockets,
 * parses again) let `/share/../api/…` past the sign-in.
 */
const BASE = 'http://base.invalid';

/**
 * Targets the WHATWG parser returns unchanged: a path of characters it never encodes, no `%`
 * (no encoded dot segments), no `/.` (no dot segments), no backslash, no `//` start; a non-empty
 * query of characters it never encodes (not `'`, which a special scheme's query encodes).
 * Nearly every real request is one; test/attacks/paths.test.ts holds the fast answer to the
 * parser's on random targets.
 */
const PARSER_FIXED_POINT = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@/?%]+)?$/;

export function isParserFixedPoint(raw: string): boolean {
  if (!PARSER_FIXED_POINT.test(raw)) return false;
  const q = raw.indexOf('?');
  return !(q === -1 ? raw : raw.slice(0, q)).includes('/.');
}

/** The canonical `path?query`, or undefined when the target cannot be parsed at all. */
export function canonicalTarget(raw: string): string | undefined {
  // The parser costs a couple of microseconds a request; a target it would not change skips it.
  if (isParserFixedPoint(raw)) return raw;
  return parsedTarget(raw);
}

/** The WHATWG parser's answer, always (the reference the fast answer is tested against). */
export function parsedTarget(raw: string): string | undefined {
  try {
    // `//x` would otherwise be read as a host.
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
