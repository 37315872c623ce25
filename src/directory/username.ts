import { loginName } from '../config/directory-presets.js';
import type { PresetName } from '../config/directory-presets.js';

/**
 * The one place usernames are normalised. Paperless matches usernames case-
 * sensitively, so `Alice` and `alice` must never reach it as two people.
 */
export function normalizeUsername(raw: string): string {
  return raw.normalize('NFC').trim().toLowerCase();
}

/**
 * A name as a case- and accent-insensitive collation that ignores trailing spaces (MariaDB's and
 * MySQL's defaults) compares it: `ádmin` and `admin ` find the row `admin` there.
 */
export function collationFold(name: string): string {
  return name.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().trimEnd();
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

/**
 * The person a typed name stands for, as far as the name alone tells, for counting and banning:
 * Active Directory's `DOMAIN\alice` (any domain) and `alice@example.com` both stand for `alice`.
 * A name the directory finds is counted under the entry's own name instead; this one counts names
 * that resolve to nobody, so that they are counted as a person's spellings would be, and their
 * bans cannot tell an existing account from a missing one.
 */
export function signInName(preset: PresetName, typed: string): string {
  const name = normalizeUsername(loginName(preset, typed));
  if (preset !== 'activedirectory') return name;
  const at = name.lastIndexOf('@');
  return at > 0 ? name.slice(0, at) : name;
}
