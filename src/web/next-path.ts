const MAX_LENGTH = 2048;

function looksSafe(path: string): boolean {
  // Control characters and backslashes: browsers fold `/\evil` and `/\tevil` into `//evil`.
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return false;
  return path.startsWith('/') && !path.startsWith('//');
}

/**
 * Returns `next` when it is a same-origin path, else undefined. Checked raw and
 * after decoding (repeatedly), so `%2F%2Fevil` and `%5Cevil` are refused too.
 */
export function safeNextPath(next: unknown, origin: URL): string | undefined {
  if (typeof next !== 'string' || next === '' || next.length > MAX_LENGTH) return undefined;
  let current = next;
  for (let i = 0; i < 4; i++) {
    if (!looksSafe(current)) return undefined;
    let decoded: string;
    try {
      decoded = decodeURIComponent(current);
    } catch {
      return undefined;
    }
    if (decoded === current) break;
    current = decoded;
  }
  const resolved = new URL(next, origin);
  if (resolved.origin !== origin.origin) return undefined;
  // Never bounce back into the login or logout pages.
  if (resolved.pathname.startsWith('/accounts/login') || resolved.pathname.startsWith('/accounts/logout')) return undefined;
  // Judge what goes into Location, not what came in: `/.//evil` resolves to `//evil`.
  const location = resolved.pathname + resolved.search + resolved.hash;
  return looksSafe(location) && new URL(location, origin).origin === origin.origin ? location : undefined;
}
