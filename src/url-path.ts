/** The path of a request URL without its query string (logs never carry queries: share keys, tokens). */
export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

/** Paperless treats every path containing /api/ as API; API clients get 401 JSON, never a login page. */
export function isApiPath(path: string): boolean {
  return path.includes('/api/') || path.endsWith('/api');
}

const PERCENT = /%([0-9A-Fa-f]{2})/g;

/**
 * The path as Django's resolver sees it: granian hands Django the percent-decoded path, so
 * `/api/%74oken/` and `/api%2Ftoken/` are `/api/token/`. Each `%XX` becomes one character of that
 * byte's Latin-1 value: ASCII decodes exactly as UTF-8 would, and a non-ASCII byte can only turn
 * into a character no route of Paperless's contains, so no spelling of a route escapes a check
 * and none is invented. Every decision about which Paperless view a request reaches reads this.
 */
export function djangoRoutedPath(path: string): string {
  return path.includes('%') ? path.replace(PERCENT, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))) : path;
}
