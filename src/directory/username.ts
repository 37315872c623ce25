/**
 * The one place usernames are normalised. Paperless matches usernames case-
 * sensitively, so `Alice` and `alice` must never reach it as two people.
 */
export function normalizeUsername(raw: string): string {
  return raw.normalize('NFC').trim().toLowerCase();
}

/** Control characters never belong in a login name; some servers even stop comparing at NUL. */
export function hasControlCharacters(name: string): boolean {
  return /[\u0000-\u001f\u007f]/.test(name);
}
