import type { Client } from 'ldapts';
import type { LdapConfig } from '../config/config.js';
import { dnWithin, normalizeDn } from './dn.js';
import { firstValue } from './entry.js';
import { isConnectionFailure } from './connection.js';
import { escapeFilterValue } from './filter.js';

/** Every object class the presets keep groups in (OpenLDAP, 389-ds, FreeIPA, LLDAP, Active Directory). */
const PRESET_GROUP_CLASSES = ['groupOfNames', 'groupOfUniqueNames', 'posixGroup', 'group'];

/**
 * What counts as a group entry: the object classes the group filter (GATEWAY_LDAP_GROUP_FILTER or
 * the preset's) asks for, so a directory that keeps groups in another class finds them here as
 * sign-in does (a class it excludes, `(!(objectClass=…))`, is not one); a filter that names none
 * falls back to the presets' classes, never to any entry.
 */
function groupClassFilter(groupFilter: string): string {
  const named = [...groupFilter.matchAll(/(?<!\(!)\(objectClass=([A-Za-z][A-Za-z0-9-]*)\)/gi)].map((m) => m[1] as string);
  const classes = [...new Set(named.length > 0 ? named : PRESET_GROUP_CLASSES)];
  return `(|${classes.map((c) => `(objectClass=${c})`).join('')})`;
}

/**
 * The entries of `wanted` (group names or DNs, as GATEWAY_LDAP_ALLOWED_GROUPS takes them) that
 * match no group under the group base: a DN compared as RFC 4514 means it, a name
 * case-insensitively against the group name attribute.
 */
export async function missingGroups(client: Client, config: LdapConfig, wanted: readonly string[]): Promise<string[]> {
  const dns = wanted.filter((w) => w.includes('='));
  const names = wanted.filter((w) => !w.includes('='));
  const foundNames = names.length === 0 ? new Set<string>() : await groupNames(client, config, names);
  const missing: string[] = [];
  for (const entry of wanted) {
    if (dns.includes(entry)) {
      if (!(await isGroupUnderBase(client, config, entry))) missing.push(entry);
    } else if (!foundNames.has(entry.toLowerCase())) missing.push(entry);
  }
  return missing;
}

async function groupNames(client: Client, config: LdapConfig, names: string[]): Promise<Set<string>> {
  const attr = config.groupNameAttribute;
  const any = names.map((n) => `(${attr}=${escapeFilterValue(n)})`).join('');
  const { searchEntries } = await client.search(config.groupBase, { scope: 'sub', filter: `(&${groupClassFilter(config.groupFilter)}(|${any}))`, attributes: [attr] });
  // Compared again as the allow-list compares (the first name, case-insensitively), not as the server's matching rule did.
  return new Set(searchEntries.flatMap((e) => firstValue(e, attr)?.toLowerCase() ?? []));
}

async function isGroupUnderBase(client: Client, config: LdapConfig, dn: string): Promise<boolean> {
  if (!dnWithin(dn, config.groupBase)) return false;
  try {
    const { searchEntries } = await client.search(dn, { scope: 'base', filter: groupClassFilter(config.groupFilter), attributes: ['1.1'] });
    return searchEntries.some((e) => normalizeDn(e.dn) === normalizeDn(dn));
  } catch (err) {
    if (isConnectionFailure(err)) throw err;
    return false; // no such entry (or one the service account may not read): no group the allow-list can match
  }
}
