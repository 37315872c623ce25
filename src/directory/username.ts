/**
 * The one place usernames are normalised. Paperless matches usernames case-
 * sensitively, so `Alice` and `alice` must never reach it as two people.
 */
export function normalizeUsername(raw: string): string {
  return raw.normalize('NFC').trim().toLowerCase();
}

/**
 * The key failed sign-ins are counted under. Directories fold look-alikes when they match
 * (OpenLDAP binds `ｂｏｂ`, `ⓑob` and `𝐛ob` as bob), so the count folds them too: NFKC, then
 * case folding. Never used as a name, only as a counter.
 */
export function regulationKey(raw: string): string {
  return raw.normalize('NFKC').trim().toUpperCase().toLowerCase().normalize('NFKC');
}

/** Control characters never belong in a login name; some servers even stop comparing at NUL. */
export function hasControlCharacters(name: string): boolean {
  return /[\u0000-\u001f\u007f]/.test(name);
}
