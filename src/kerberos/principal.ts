import { NegotiateRefusedError } from './errors.js';

/**
 * The name a Kerberos principal signs in as: `alice@EXAMPLE.COM` from an allowed realm is `alice`,
 * looked up by the preset's user filter (Active Directory's tickets name the sAMAccountName), and
 * the entry found must carry exactly that name (CredentialCheck.checkTicket). Only the one
 * configured realm; a service's principal (`HTTP/host@REALM`) and names a directory would fold are
 * refused.
 */
export function signInNameOf(principal: string, realms: readonly string[]): string {
  const at = principal.lastIndexOf('@');
  const user = at > 0 ? principal.slice(0, at) : '';
  // Realms are case-sensitive: EXAMPLE.COM and example.com are two.
  const realm = at > 0 ? principal.slice(at + 1) : '';
  if (!realms.includes(realm)) throw new NegotiateRefusedError(`realm ${realm || '(none)'} of ${principal} is not in GATEWAY_KERBEROS_REALMS`);
  if (user === '' || user.includes('/')) throw new NegotiateRefusedError(`${principal} is not a person's principal`);
  // Only names a directory compares as written (ASCII, no spaces or escapes): MIT realms may hold
  // ` bob` or a full-width ｂｏｂ beside bob, which a directory's matching would fold into bob.
  if (!/^[A-Za-z0-9._-]+$/.test(user)) throw new NegotiateRefusedError(`${principal}: only letters, digits, dots, dashes and underscores are signed in by ticket`);
  return user;
}
