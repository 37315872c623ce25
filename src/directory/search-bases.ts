import { NoSuchObjectError, type Client } from 'ldapts';
import { values } from './entry.js';
import { isConnectionFailure } from './connection.js';
import { DirectorySettingError } from './errors.js';

export type BaseSetting = 'GATEWAY_LDAP_USER_BASE' | 'GATEWAY_LDAP_GROUP_BASE';

/** What the directory says it holds (the root DSE's namingContexts), to suggest a base; [] when it will not say. */
async function namingContexts(client: Client): Promise<string[]> {
  try {
    const { searchEntries } = await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['namingContexts'] });
    const root = searchEntries[0];
    return root ? values(root, 'namingContexts') : [];
  } catch (err) {
    if (isConnectionFailure(err)) throw err;
    return [];
  }
}

/** The error for a search base the directory does not have, naming the setting and what the directory does hold. */
export async function missingBase(client: Client, setting: BaseSetting, base: string, cause: unknown): Promise<DirectorySettingError> {
  const held = await namingContexts(client).catch(() => []);
  return new DirectorySettingError(
    `${setting} "${base}" does not exist in the directory (or the service account may not read it)`,
    `set ${setting} to the DN of the entry that holds your ${setting === 'GATEWAY_LDAP_USER_BASE' ? 'users' : 'groups'}${held.length > 0 ? `; this directory holds ${held.join(', ')}` : ''}`,
    { cause },
  );
}

/** A search under `base` failed: a missing base becomes missingBase, anything else is returned as is. */
export async function baseSearchError(client: Client, setting: BaseSetting, base: string, err: unknown): Promise<unknown> {
  return err instanceof NoSuchObjectError ? missingBase(client, setting, base, err) : err;
}

/**
 * Throws missingBase when the directory answers a search of `base` with noSuchObject. Only that
 * answer counts: some servers (LLDAP) answer a base search of their OUs without the entry itself,
 * and a readiness check must not fail a directory that works.
 */
export async function requireBase(client: Client, setting: BaseSetting, base: string): Promise<void> {
  try {
    await client.search(base, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
  } catch (err) {
    throw await baseSearchError(client, setting, base, err);
  }
}
