/** Methods that change nothing; every other one, PROPFIND and made-up ones included, is checked for its origin. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * The origin a browser says a request comes from: Origin, else Referer's origin; undefined when
 * it sends neither. `Origin: null` counts as an origin (an opaque one): browsers send it from
 * sandboxed frames and data: or file: pages, which are pages all the same, and whose Referer may
 * well name this site. A Referer that cannot be read is no evidence of this site.
 */
export function sourceOrigin(origin: string | undefined, referer: string | undefined): string | undefined {
  if (origin) return origin;
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return 'an unreadable Referer';
  }
}

/**
 * Whether the browser says this request comes from one of the gateway's (or Paperless's) own
 * pages. Sec-Fetch-Site, where a browser sends it (https and localhost only), decides alone;
 * otherwise Origin, then Referer: browsers send no Sec-Fetch-Site over plain http, and Paperless's
 * own pages keep the Referer for same-origin navigations.
 */
export function fromOwnPage(headers: { 'sec-fetch-site'?: string | string[]; origin?: string; referer?: string }, publicUrl: URL): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  return sourceOrigin(headers.origin, headers.referer) === publicUrl.origin;
}
