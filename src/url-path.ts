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
