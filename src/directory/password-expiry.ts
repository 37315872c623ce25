import type { Entry } from 'ldapts';
import type { PresetName } from '../config/directory-presets.js';
import { firstValue } from './entry.js';

/** Where each family keeps the moment a password expires (OpenLDAP tells it at bind, in the policy control). */
const EXPIRY_ATTRIBUTE: Partial<Record<PresetName, string>> = {
  // Constructed: AD computes it from pwdLastSet and the (fine-grained) policy, only when asked by name.
  activedirectory: 'msDS-UserPasswordExpiryTimeComputed',
  freeipa: 'krbPasswordExpiration',
};

export function expiryAttribute(preset: PresetName): string | undefined {
  return EXPIRY_ATTRIBUTE[preset];
}

/** FILETIME (100 ns since 1601) to epoch ms; 0 (must change now) and "never" give undefined. */
function fromFiletime(value: string): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  const ticks = BigInt(value);
  if (ticks === 0n || ticks >= 0x7fffffffffffffffn) return undefined;
  return Number(ticks / 10_000n) - 11_644_473_600_000;
}

/** LDAP GeneralizedTime (20261215083000Z) to epoch ms. */
function fromGeneralizedTime(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
}

/** When the entry's password expires, if the directory says. */
export function passwordExpiry(preset: PresetName, entry: Entry): number | undefined {
  const attribute = EXPIRY_ATTRIBUTE[preset];
  const value = attribute ? firstValue(entry, attribute) : undefined;
  if (!value) return undefined;
  return preset === 'activedirectory' ? fromFiletime(value) : fromGeneralizedTime(value);
}

/**
 * Why the directory would refuse this account a sign-in now, where its bind would tell a password
 * sign-in. A Kerberos ticket issued before stays good for hours, so a ticket sign-in asks the entry.
 * Active Directory: the account expired (accountExpires), is locked out or its password expired (the
 * constructed msDS-User-Account-Control-Computed). Elsewhere: OpenLDAP ppolicy's lock
 * (pwdAccountLockedTime; counted as locked until a password sign-in clears it, for its end depends
 * on the policy), an account disabled (nsAccountLock, 389-ds and FreeIPA), a
 * principal past its expiry (krbPrincipalExpiration, FreeIPA and MIT's LDAP back end). lldap has none.
 */
export function accountRestriction(preset: PresetName, entry: Entry, now: number): string | undefined {
  if (preset === 'lldap') return undefined;
  if (preset !== 'activedirectory') {
    if (firstValue(entry, 'pwdAccountLockedTime')) return 'the account is locked by the password policy';
    if ((firstValue(entry, 'nsAccountLock') ?? '').toLowerCase() === 'true') return 'the account is disabled';
    const principalEnd = firstValue(entry, 'krbPrincipalExpiration');
    const endsAt = principalEnd ? fromGeneralizedTime(principalEnd) : undefined;
    if (endsAt !== undefined && endsAt <= now) return 'the Kerberos principal has expired';
    return undefined;
  }
  const expires = firstValue(entry, 'accountExpires');
  const expiresAt = expires ? fromFiletime(expires) : undefined;
  if (expiresAt !== undefined && expiresAt <= now) return 'the account has expired';
  const computed = Number(firstValue(entry, 'msDS-User-Account-Control-Computed') ?? 0);
  if (computed & 0x10) return 'the account is locked out';
  if (computed & 0x800000) return 'the password has expired';
  return undefined;
}

/** The attributes accountRestriction reads (operational and computed ones are sent only when asked by name). */
export function restrictionAttributes(preset: PresetName): string[] {
  if (preset === 'lldap') return [];
  return preset === 'activedirectory' ? ['accountExpires', 'msDS-User-Account-Control-Computed'] : ['pwdAccountLockedTime', 'nsAccountLock', 'krbPrincipalExpiration'];
}
