import type { IncomingHttpHeaders } from 'node:http';

/** Removes the named cookies from a request's Cookie header, leaving the rest byte for byte. */
export function removeCookies(headers: IncomingHttpHeaders, names: ReadonlySet<string>): void {
  const header = headers.cookie;
  if (!header) return;
  const kept = header
    .split(';')
    .filter((pair) => {
      const eq = pair.indexOf('=');
      const name = (eq === -1 ? pair : pair.slice(0, eq)).trim();
      return name !== '' && !names.has(name);
    })
    .map((pair) => pair.trim());
  if (kept.length === 0) delete headers.cookie;
  else headers.cookie = kept.join('; ');
}
