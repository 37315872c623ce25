import { isAllowed } from '../directory/allowed-groups.js';
import type { DirectoryUser } from '../directory/directory.js';
import type { ProvisioningMapping } from '../config/mapping.js';

/** What Paperless should hold for one person, derived from the directory and the mapping alone. */
export interface DesiredAccount {
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  is_superuser: boolean;
  is_staff: boolean;
  /** Names of the Paperless groups (among those the gateway manages) the user belongs in. */
  groups: string[];
  permissions: string[];
}

/** A Paperless group the user needs; `permissions` undefined for a mirrored group (its permissions are left to admins). */
export interface DesiredGroup {
  name: string;
  permissions?: string[];
}

export interface DesiredState {
  account: DesiredAccount;
  groups: DesiredGroup[];
}

const clip = (s: string | undefined, max: number) => (s ?? '').slice(0, max);

export function desiredState(user: DirectoryUser, mapping: ProvisioningMapping): DesiredState {
  const matched = mapping.groups.filter((m) => isAllowed(user, [m.ldap]));
  const groups = new Map<string, DesiredGroup>();
  for (const m of matched) {
    const existing = groups.get(m.paperless);
    const permissions = [...new Set([...(existing?.permissions ?? []), ...m.permissions])].sort();
    groups.set(m.paperless, { name: m.paperless, permissions });
  }
  if (mapping.mirrorUnmappedGroups) {
    for (const g of user.groups) {
      if (mapping.groups.some((m) => isAllowed({ ...user, groups: [g] }, [m.ldap]))) continue;
      if (!groups.has(g.name)) groups.set(g.name, { name: g.name.slice(0, 150) });
    }
  }
  const sorted = [...groups.values()].sort((a, b) => a.name.localeCompare(b.name));
  return {
    account: {
      username: user.username,
      email: clip(user.email, 254),
      first_name: clip(user.firstName, 150),
      last_name: clip(user.lastName, 150),
      is_superuser: matched.some((m) => m.superuser),
      is_staff: matched.some((m) => m.staff),
      groups: sorted.map((g) => g.name),
      permissions: mapping.permissions,
    },
    groups: sorted,
  };
}

/** The Paperless groups the mapping names: the gateway sets their membership exactly. */
export function mappedGroupNames(mapping: ProvisioningMapping): Set<string> {
  return new Set(mapping.groups.map((g) => g.paperless));
}
