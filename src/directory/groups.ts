import type { Client, Entry } from 'ldapts';
import type { LdapConfig } from '../config/config.js';
import type { DirectoryGroup } from './directory.js';
import { normalizeDn } from './dn.js';
import { firstValue } from './entry.js';
import { isConnectionFailure } from './connection.js';
import { DirectoryUnavailableError } from './errors.js';
import { escapeFilterValue, fillFilter } from './filter.js';
import { completeValues } from './range.js';
import { baseSearchError } from './search-bases.js';

/** Filter that finds the groups directly containing a given DN, for walking nested groups upward. */
function parentsFilter(dns: string[]): string {
  const parts = dns.flatMap((dn) => {
    const v = escapeFilterValue(dn);
    return [`(member=${v})`, `(uniqueMember=${v})`];
  });
  return `(|${parts.join('')})`;
}

/**
 * Finds a user's groups the way the directory family keeps them: from the
 * user's memberOf, or by searching groups that list the user. Nested groups
 * are walked upward level by level, with a cycle guard and a depth limit;
 * names always come from the group's own name attribute.
 */
export class GroupResolver {
  constructor(private readonly config: LdapConfig) {}

  /** Attributes the user search must also return for this resolver. */
  get userAttributes(): string[] {
    return this.config.groupMode === 'memberof' ? ['memberOf'] : [];
  }

  async resolve(client: Client, user: Entry, username: string): Promise<DirectoryGroup[]> {
    try {
      return this.config.groupMode === 'memberof' ? await this.viaMemberOf(client, user) : await this.viaSearch(client, user.dn, username);
    } catch (err) {
      if (err instanceof DirectoryUnavailableError) throw err;
      const known = this.config.groupMode === 'search' ? await baseSearchError(client, 'GATEWAY_LDAP_GROUP_BASE', this.config.groupBase, err) : err;
      if (known instanceof DirectoryUnavailableError) throw known;
      throw new DirectoryUnavailableError(`group lookup failed: ${String(err)}`, { cause: err });
    }
  }

  private async viaSearch(client: Client, dn: string, username: string): Promise<DirectoryGroup[]> {
    const direct = await this.searchGroups(client, fillFilter(this.config.groupFilter, { dn, username }));
    if (!this.config.nestedGroups) return direct;
    const found = new Map(direct.map((g) => [normalizeDn(g.dn), g]));
    let frontier = direct.map((g) => g.dn);
    for (let depth = 1; depth < this.config.nestedDepth && frontier.length > 0; depth++) {
      const parents = await this.searchGroups(client, parentsFilter(frontier));
      frontier = [];
      for (const g of parents) {
        const key = normalizeDn(g.dn);
        if (found.has(key)) continue; // a cycle, or a group reached twice
        found.set(key, g);
        frontier.push(g.dn);
      }
    }
    return [...found.values()];
  }

  private async searchGroups(client: Client, filter: string): Promise<DirectoryGroup[]> {
    const nameAttr = this.config.groupNameAttribute;
    // AD answers searches from the domain root with referrals to other partitions; they are not groups of ours.
    const { searchEntries } = await client.search(this.config.groupBase, { scope: 'sub', filter, attributes: [nameAttr] });
    return searchEntries.flatMap((g) => {
      const name = firstValue(g, nameAttr);
      return name ? [{ dn: g.dn, name }] : [];
    });
  }

  private async viaMemberOf(client: Client, user: Entry): Promise<DirectoryGroup[]> {
    const found = new Map<string, DirectoryGroup>();
    let frontier = await completeValues(client, user, 'memberOf');
    const maxDepth = this.config.nestedGroups ? this.config.nestedDepth : 1;
    for (let depth = 0; depth < maxDepth && frontier.length > 0; depth++) {
      const level = await Promise.all(frontier.filter((dn) => !found.has(normalizeDn(dn))).map((dn) => this.readGroup(client, dn)));
      frontier = [];
      for (const g of level) {
        if (!g || found.has(normalizeDn(g.group.dn))) continue;
        found.set(normalizeDn(g.group.dn), g.group);
        frontier.push(...g.memberOf);
      }
    }
    return [...found.values()];
  }

  /** A group entry's name (and its own memberOf, for nesting); undefined when it cannot be read. */
  private async readGroup(client: Client, dn: string): Promise<{ group: DirectoryGroup; memberOf: string[] } | undefined> {
    const nameAttr = this.config.groupNameAttribute;
    try {
      const { searchEntries } = await client.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: [nameAttr, ...(this.config.nestedGroups ? ['memberOf'] : [])],
      });
      const entry = searchEntries[0];
      const name = entry && firstValue(entry, nameAttr);
      if (!entry || !name) return undefined;
      return { group: { dn, name }, memberOf: this.config.nestedGroups ? await completeValues(client, entry, 'memberOf') : [] };
    } catch (err) {
      if (isConnectionFailure(err)) throw err;
      return undefined; // a group the service account may not read is one we cannot map
    }
  }
}
