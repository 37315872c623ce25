import { AdminLimitExceededError, SizeLimitExceededError } from 'ldapts';
import type { LdapConfig } from '../config/config.js';
import { DirectorySettingError } from './errors.js';

/**
 * A paged listing the directory cut short, in the admin's words. Paging asks for every entry a
 * page at a time, but OpenLDAP also caps the whole paged search (`size.prtotal`, by default the
 * account's hard size limit: 500 unless raised), so a listing stops there whatever the page size.
 */
export function listingLimitError(err: unknown, config: LdapConfig, listed: number): DirectorySettingError | undefined {
  if (err instanceof SizeLimitExceededError) {
    return new DirectorySettingError(
      `the directory stopped the listing at its size limit for the service account ${config.bindDn} (after ${listed} entries under GATEWAY_LDAP_USER_BASE)`,
      `allow it more (OpenLDAP: limits dn.exact="${config.bindDn}" size.prtotal=unlimited; AD: MaxPageSize)`,
      { cause: err },
    );
  }
  if (err instanceof AdminLimitExceededError) {
    return new DirectorySettingError(
      `the directory refuses pages of ${config.pageSize} entries for the service account ${config.bindDn}`,
      `lower GATEWAY_LDAP_PAGE_SIZE, or allow larger pages (OpenLDAP: limits dn.exact="${config.bindDn}" size.pr=${config.pageSize})`,
      { cause: err },
    );
  }
  return undefined;
}
