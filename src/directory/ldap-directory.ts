import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError as LdapInvalidCredentials, ResultCodeError, type Entry } from 'ldapts';
import type { LdapConfig } from '../config/config.js';
import type { Directory, DirectoryGroup, DirectoryUser } from './directory.js';
import { DirectoryUnavailableError, InvalidCredentialsError } from './errors.js';
import { fillFilter } from './filter.js';
import { normalizeUsername } from './username.js';

function first(entry: Entry, attribute: string): string | undefined {
  // ldapts keys attributes as the server spells them, so look them up case-insensitively.
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  const one = Array.isArray(value) ? value[0] : value;
  if (one === undefined) return undefined;
  const text = Buffer.isBuffer(one) ? one.toString('utf8') : one;
  return text === '' ? undefined : text;
}

function all(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

/** A connection-level failure (refused, reset, timed out, TLS) rather than an LDAP answer. */
function isConnectionFailure(err: unknown): boolean {
  return !(err instanceof ResultCodeError);
}

export class LdapDirectory implements Directory {
  private readonly tlsOptions: ConnectionOptions;

  constructor(private readonly config: LdapConfig) {
    this.tlsOptions = config.caFile ? { ca: readFileSync(config.caFile) } : {};
  }

  async authenticate(username: string, password: string): Promise<DirectoryUser> {
    const wanted = normalizeUsername(username);
    // An empty password would be an anonymous bind, which many servers accept: refuse it before any bind.
    if (wanted === '' || password === '') throw new InvalidCredentialsError('empty username or password');
    const service = await this.connectAsService();
    try {
      const { entry, user } = await this.findUser(service, wanted);
      if (!entry || !user) throw new InvalidCredentialsError(`no entry for ${wanted}`);
      await this.bindAsUser(entry.dn, password);
      return user;
    } finally {
      await service.unbind().catch(() => undefined);
    }
  }

  async lookup(username: string): Promise<DirectoryUser | undefined> {
    const service = await this.connectAsService();
    try {
      return (await this.findUser(service, normalizeUsername(username))).user;
    } finally {
      await service.unbind().catch(() => undefined);
    }
  }

  async check(): Promise<void> {
    const service = await this.connectAsService();
    await service.unbind().catch(() => undefined);
  }

  async close(): Promise<void> {
    // A fresh client per operation leaves nothing open between logins.
  }

  private newClient(url: string): Client {
    return new Client({
      url,
      timeout: this.config.timeoutMs,
      connectTimeout: this.config.connectTimeoutMs,
      // ldapts switches any URL to TLS when it is given TLS options, so give them to ldaps:// only;
      // StartTLS gets its own below.
      ...(url.toLowerCase().startsWith('ldaps://') ? { tlsOptions: { ...this.tlsOptions } } : {}),
    });
  }

  /** Opens a connection to the first answering server, upgraded to TLS when configured. */
  private async connect(bind: (client: Client) => Promise<void>): Promise<Client> {
    let lastError: unknown;
    for (const url of this.config.urls) {
      const client = this.newClient(url);
      try {
        // A fresh options object each time: ldapts writes the socket into the one it is given.
        if (this.config.startTls) await client.startTLS({ ...this.tlsOptions });
        await bind(client);
        return client;
      } catch (err) {
        await client.unbind().catch(() => undefined);
        if (!isConnectionFailure(err)) throw err;
        lastError = err;
      }
    }
    throw new DirectoryUnavailableError(`no LDAP server answered (${this.config.urls.join(', ')}): ${String(lastError)}`, { cause: lastError });
  }

  private async connectAsService(): Promise<Client> {
    try {
      return await this.connect((c) => c.bind(this.config.bindDn, this.config.bindPassword));
    } catch (err) {
      if (err instanceof DirectoryUnavailableError) throw err;
      const reason = err instanceof LdapInvalidCredentials ? 'the service account was refused (check GATEWAY_LDAP_BIND_DN and GATEWAY_LDAP_BIND_PASSWORD)' : String(err);
      throw new DirectoryUnavailableError(`service bind failed: ${reason}`, { cause: err });
    }
  }

  private async bindAsUser(dn: string, password: string): Promise<void> {
    try {
      const client = await this.connect((c) => c.bind(dn, password));
      await client.unbind().catch(() => undefined);
    } catch (err) {
      if (err instanceof DirectoryUnavailableError) throw err;
      if (err instanceof LdapInvalidCredentials) throw new InvalidCredentialsError(`wrong password for ${dn}`);
      throw new DirectoryUnavailableError(`user bind failed: ${String(err)}`, { cause: err });
    }
  }

  private async findUser(client: Client, username: string): Promise<{ entry?: Entry; user?: DirectoryUser }> {
    const { attributes } = this.config;
    const wantMemberOf = this.config.groupBase === undefined;
    let entries: Entry[];
    try {
      ({ searchEntries: entries } = await client.search(this.config.userBase, {
        scope: 'sub',
        filter: fillFilter(this.config.userFilter, { username }),
        attributes: [attributes.username, attributes.mail, attributes.firstName, attributes.lastName, attributes.displayName, ...(wantMemberOf ? ['memberOf'] : [])],
        sizeLimit: 2,
      }));
    } catch (err) {
      throw new DirectoryUnavailableError(`user search failed: ${String(err)}`, { cause: err });
    }
    // Two matches means the filter is too loose; logging in as either would be a guess.
    if (entries.length !== 1) return {};
    const entry = entries[0] as Entry;
    const name = first(entry, attributes.username);
    if (!name) return {};
    const groups = wantMemberOf ? await this.groupsFromMemberOf(client, all(entry, 'memberOf')) : await this.searchGroups(client, entry.dn, name);
    const user: DirectoryUser = { username: normalizeUsername(name), dn: entry.dn, groups };
    const email = first(entry, attributes.mail);
    const firstName = first(entry, attributes.firstName);
    const lastName = first(entry, attributes.lastName);
    const displayName = first(entry, attributes.displayName);
    if (email) user.email = email;
    if (firstName) user.firstName = firstName;
    if (lastName) user.lastName = lastName;
    if (displayName) user.displayName = displayName;
    return { entry, user };
  }

  private async searchGroups(client: Client, dn: string, username: string): Promise<DirectoryGroup[]> {
    const nameAttr = this.config.groupNameAttribute;
    try {
      const { searchEntries } = await client.search(this.config.groupBase as string, {
        scope: 'sub',
        filter: fillFilter(this.config.groupFilter, { dn, username }),
        attributes: [nameAttr],
      });
      return searchEntries.flatMap((g) => {
        const name = first(g, nameAttr);
        return name ? [{ dn: g.dn, name }] : [];
      });
    } catch (err) {
      throw new DirectoryUnavailableError(`group search failed: ${String(err)}`, { cause: err });
    }
  }

  /** Reads each group's name from its own entry: slicing a DN breaks on escaped commas. */
  private async groupsFromMemberOf(client: Client, dns: string[]): Promise<DirectoryGroup[]> {
    const nameAttr = this.config.groupNameAttribute;
    const groups = await Promise.all(
      dns.map(async (dn) => {
        try {
          const { searchEntries } = await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [nameAttr] });
          const name = searchEntries[0] && first(searchEntries[0], nameAttr);
          return name ? { dn, name } : undefined;
        } catch (err) {
          if (isConnectionFailure(err)) throw new DirectoryUnavailableError(`group lookup failed: ${String(err)}`, { cause: err });
          return undefined; // a group we may not read is not one we can map
        }
      }),
    );
    return groups.filter((g): g is DirectoryGroup => g !== undefined);
  }
}
