/**
 * What each directory family needs, so most people set a preset and their
 * DNs, not filters. Every value here can still be overridden by its setting.
 */
export const PRESET_NAMES = ['openldap', 'activedirectory', 'freeipa', 'lldap', 'custom'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];
export type GroupMode = 'memberof' | 'search';

export interface Preset {
  userFilter: string;
  usernameAttribute: string;
  mailAttribute: string;
  firstNameAttribute: string;
  lastNameAttribute: string;
  displayNameAttribute: string;
  groupMode: GroupMode;
  groupFilter: string;
  groupNameAttribute: string;
  nestedGroups: boolean;
}

/** Active Directory's "is a person account" (SAM_USER_OBJECT) and "is disabled" (UF_ACCOUNTDISABLE, bit 2). */
const AD_PERSON = '(sAMAccountType=805306368)';
const AD_ENABLED = '(!(userAccountControl:1.2.840.113556.1.4.803:=2))';
/** LDAP_MATCHING_RULE_IN_CHAIN: the server resolves nested membership itself. */
export const AD_IN_CHAIN = '1.2.840.113556.1.4.1941';

const OPENLDAP: Preset = {
  userFilter: '(&(objectClass=inetOrgPerson)(uid={username}))',
  usernameAttribute: 'uid',
  mailAttribute: 'mail',
  firstNameAttribute: 'givenName',
  lastNameAttribute: 'sn',
  displayNameAttribute: 'displayName',
  groupMode: 'search',
  groupFilter: '(|(&(objectClass=groupOfNames)(member={dn}))(&(objectClass=groupOfUniqueNames)(uniqueMember={dn}))(&(objectClass=posixGroup)(memberUid={username})))',
  groupNameAttribute: 'cn',
  nestedGroups: true,
};

export const PRESETS: Record<PresetName, Preset> = {
  openldap: OPENLDAP,
  custom: OPENLDAP,
  activedirectory: {
    // One filter for all three login forms: `alice` and `EXAMPLE\alice` (reduced to `alice`)
    // match sAMAccountName; `alice@example.com` can only match userPrincipalName.
    userFilter: `(&${AD_PERSON}${AD_ENABLED}(|(sAMAccountName={username})(userPrincipalName={username})))`,
    usernameAttribute: 'sAMAccountName',
    mailAttribute: 'mail',
    firstNameAttribute: 'givenName',
    lastNameAttribute: 'sn',
    displayNameAttribute: 'displayName',
    groupMode: 'search',
    groupFilter: `(&(objectClass=group)(member:${AD_IN_CHAIN}:={dn}))`,
    groupNameAttribute: 'cn',
    nestedGroups: false, // the in-chain filter already returns every level
  },
  freeipa: {
    userFilter: '(&(objectClass=person)(uid={username})(!(nsAccountLock=TRUE)))',
    usernameAttribute: 'uid',
    mailAttribute: 'mail',
    firstNameAttribute: 'givenName',
    lastNameAttribute: 'sn',
    displayNameAttribute: 'displayName',
    groupMode: 'memberof', // FreeIPA's memberOf already lists indirect groups
    groupFilter: '(&(objectClass=groupOfNames)(member={dn}))',
    groupNameAttribute: 'cn',
    nestedGroups: false,
  },
  lldap: {
    userFilter: '(&(objectClass=person)(uid={username}))',
    usernameAttribute: 'uid',
    mailAttribute: 'mail',
    firstNameAttribute: 'givenName',
    lastNameAttribute: 'sn',
    displayNameAttribute: 'displayName',
    groupMode: 'memberof',
    groupFilter: '(&(objectClass=groupOfUniqueNames)(|(member={dn})(uniqueMember={dn})))',
    groupNameAttribute: 'cn',
    nestedGroups: false, // LLDAP has no nested groups
  },
};

/** The `dc=` suffix of a DN: the naming context a search can start from when no group base is set. */
export function domainRoot(dn: string): string {
  const parts = dn.split(/(?<!\\),/).map((p) => p.trim());
  const dcs = parts.filter((p) => /^dc=/i.test(p));
  return dcs.length > 0 ? dcs.join(',') : dn;
}

/**
 * Reduces the three Active Directory login forms to what the filter matches:
 * `EXAMPLE\alice` → `alice`; `alice@example.com` stays whole (a UPN).
 */
export function loginName(preset: PresetName, typed: string): string {
  if (preset !== 'activedirectory') return typed;
  const slash = typed.indexOf('\\');
  return slash === -1 ? typed : typed.slice(slash + 1);
}
