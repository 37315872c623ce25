import type { IncomingHttpHeaders } from 'node:http';

/**
 * Whether Python's str.strip() removes this character, for the characters a Latin-1 header can
 * hold: Django strips cookie names with it, so `\x85sessionid` and `\x1csessionid` are `sessionid`
 * to Paperless. JavaScript's trim() leaves \x1c-\x1f and \x85 alone; deciding with it let a
 * session cookie through.
 */
function isPyStripped(code: number): boolean {
  return (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x20) || code === 0x85 || code === 0xa0;
}

/** The name Django's parse_cookie gives one `;`-separated chunk ('' for a chunk without `=`). */
export function djangoCookieName(chunk: string): string {
  const eq = chunk.indexOf('=');
  if (eq === -1) return '';
  let start = 0;
  let end = eq;
  while (start < end && isPyStripped(chunk.charCodeAt(start))) start++;
  while (end > start && isPyStripped(chunk.charCodeAt(end - 1))) end--;
  return chunk.slice(start, end);
}

/** A chunk with anything but whitespace: exactly what `trim() !== ''` says (\s is trim's set), without a copy. */
const NOT_BLANK = /\S/;

/**
 * Rewrites a request's Cookie header as Paperless must see it: every chunk Django would read
 * under one of `drop`'s names is removed (the rest stay byte for byte), then `add` is appended.
 * One pass over the `;`-separated chunks, on every proxied request.
 */
export function rewriteCookies(headers: IncomingHttpHeaders, drop: ReadonlySet<string>, add?: { name: string; value: string }): void {
  const header = headers.cookie ?? '';
  let kept = '';
  for (let start = 0; start <= header.length; ) {
    const semicolon = header.indexOf(';', start);
    const end = semicolon === -1 ? header.length : semicolon;
    const chunk = header.slice(start, end);
    if (NOT_BLANK.test(chunk) && !drop.has(djangoCookieName(chunk))) kept = kept === '' ? chunk : `${kept};${chunk}`;
    start = end + 1;
  }
  if (add) kept = kept === '' ? `${add.name}=${add.value}` : `${kept}; ${add.name}=${add.value}`;
  if (kept === '') delete headers.cookie;
  else headers.cookie = kept;
}

/** A Set-Cookie line's cookie name and value, and whether it deletes the cookie. */
export function parseSetCookie(line: string): { name: string; value: string; deletes: boolean } {
  const [pair = '', ...attributes] = line.split(';');
  const eq = pair.indexOf('=');
  const name = (eq === -1 ? '' : pair.slice(0, eq)).trim();
  let value = (eq === -1 ? pair : pair.slice(eq + 1)).trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
  const deletes =
    value === '' ||
    attributes.some((a) => {
      const [key = '', v = ''] = a.split('=').map((s) => s.trim());
      if (key.toLowerCase() === 'max-age') return Number(v) <= 0;
      if (key.toLowerCase() === 'expires') return Date.parse(v) <= Date.now();
      return false;
    });
  return { name, value, deletes };
}
