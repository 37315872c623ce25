/**
 * How Django and DRF read the bytes of a request. These are the parses the gateway must agree
 * with (paperless-contract.md): header names mapped to META keys, cookies split and stripped as
 * Python strips, Accept-header versions, and `next` quoted as urllib quotes.
 */
import type http from 'node:http';
import { HttpError } from './http.js';

/** The META key a header lands in: `-` and `_` both become `_`, so both spellings collide. */
export function djangoKey(name: string): string {
  return `HTTP_${name.toUpperCase().replace(/-/g, '_')}`;
}

/** What Django puts in META[key]: every header whose mapped name matches, joined with ','. */
export function metaValue(rawHeaders: string[], key: string): string | undefined {
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (djangoKey(rawHeaders[i] as string) === key) values.push(rawHeaders[i + 1] as string);
  }
  return values.length ? values.join(',') : undefined;
}

/** Python's str.strip() over the characters a Latin-1 header can hold. */
function pyStrip(s: string): string {
  return s.replace(/^[\t\n\v\f\r\x1c-\x1f \x85\xa0]+|[\t\n\v\f\r\x1c-\x1f \x85\xa0]+$/g, '');
}

/** Django's parse_cookie: `;`-separated chunks, names and values stripped as Python strips. */
export function parseCookies(header: string): Record<string, string | undefined> {
  const out: Record<string, string> = {};
  for (const chunk of header.split(';')) {
    const eq = chunk.indexOf('=');
    const key = pyStrip(eq === -1 ? '' : chunk.slice(0, eq));
    let value = pyStrip(eq === -1 ? chunk : chunk.slice(eq + 1));
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (key || value) out[key] = value;
  }
  return out;
}

/** DRF splits Authorization on ASCII whitespace only (bytes.split()), not on Unicode spaces. */
export function authorizationParts(header: string | undefined): string[] {
  return (header ?? '').split(/[ \t\n\r\v\f]+/).filter(Boolean);
}

/** DRF's AcceptHeaderVersioning with Paperless's ALLOWED_VERSIONS (1 to 9 on 2.x, 9 and 10 on 3.x). */
export function checkApiVersion(req: http.IncomingMessage, line: 2 | 3): void {
  const version = /(?:^|;)\s*version=([^;,\s]*)/.exec(req.headers.accept ?? '')?.[1];
  const allowed = line === 3 ? /^(9|10)$/ : /^[1-9]$/;
  if (version !== undefined && !allowed.test(version)) throw new HttpError(406, { detail: 'Invalid version in "Accept" header.' });
}

/** Paperless's ApiVersionMiddleware: versions on every answer to a signed-in user. */
export function versionHeaders(signedIn: boolean, line: 2 | 3): Record<string, string> {
  if (!signedIn) return {};
  return line === 3 ? { 'X-Api-Version': '10', 'X-Version': '3.0.5' } : { 'X-Api-Version': '9', 'X-Version': '2.20.15' };
}

/** Django's redirect_to_login quotes `next` with urllib's quote(safe='/'). */
export function djangoQuote(value: string): string {
  return encodeURIComponent(value).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Paperless (like Django) treats every path containing /api/ as the API. */
export function isApi(path: string): boolean {
  return path.includes('/api/');
}

/**
 * The path Django's resolver matches: granian hands Django the percent-decoded path (UTF-8;
 * a malformed sequence is kept byte by byte, which no route of Paperless's matches either).
 */
export function routedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}

/**
 * Paperless mounts the admin with an unanchored `re_path("admin/")`: Django searches for the
 * first `admin/` anywhere in the path, and the admin's own routes match what follows it.
 */
export function adminRoute(routed: string): string | undefined {
  const at = routed.indexOf('admin/', 1);
  return at === -1 ? undefined : routed.slice(at + 'admin/'.length);
}
