/**
 * The one place usernames are normalised. Paperless matches usernames case-
 * sensitively, so `Alice` and `alice` must never reach it as two people.
 */
export function normalizeUsername(raw: string): string {
  return raw.normalize('NFC').trim().toLowerCase();
}
