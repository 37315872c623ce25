import { NegotiateRefusedError } from './negotiate.js';

/**
 * The name a Kerberos principal signs in as: `alice@EXAMPLE.COM` from an allowed realm is `alice`,
 * looked up by the preset's user filter (Active Directory's tickets name the sAMAccountName). Every
 * allowed realm's names are looked up in the one directory, so only realms whose people it holds
 * under those names may be listed. A realm not listed, and a service's principal
 * (`HTTP/host@REALM`), are refused.
 */
export function signInNameOf(principal: string, realms: readonly string[]): string {
  const at = principal.lastIndexOf('@');
  const user = at > 0 ? principal.slice(0, at) : '';
  const realm = at > 0 ? principal.slice(at + 1).toUpperCase() : '';
  if (!realms.includes(realm)) throw new NegotiateRefusedError(`realm ${realm || '(none)'} of ${principal} is not in GATEWAY_KERBEROS_REALMS`);
  if (user === '' || user.includes('/')) throw new NegotiateRefusedError(`${principal} is not a person's principal`);
  return user;
}
