import type { Client, Entry } from 'ldapts';
import { InvalidCredentialsError as LdapInvalidCredentials, SizeLimitExceededError } from 'ldapts';
import type { LdapConfig } from '../config/config.js';
import type { Metrics } from '../ops/metrics.js';
import { adPasswordChangeReason, userBindError } from './bind-errors.js';
import { adPasswordChange, canChangePasswords, passwordModify } from './password-change.js';
import { LdapConnector } from './connection.js';
import type { BeforeBind, Directory, DirectoryUser } from './directory.js';
import { firstValue } from './entry.js';
import { DirectoryUnavailableError, InvalidCredentialsError, PasswordChangeNeedsTlsError, PasswordChangeRequiredError, PasswordExpiredError } from './errors.js';
import { PasswordPolicyControl } from './password-policy-control.js';
import { accountRestriction, expiryAttribute, passwordExpiry, restrictionAttributes } from './password-expiry.js';
import { escapeFilterValue, fillFilter } from './filter.js';
import { GroupResolver } from './groups.js';
import { missingGroups } from './group-existence.js';
import { baseSearchError, requireBase } from './search-bases.js';
import { listingLimitError } from './listing-limits.js';
import { loginName } from '../config/directory-presets.js';
import { hasControlCharacters, normalizeUsername, signInName } from './username.js';

async function timed<T>(metrics: Pick<Metrics, 'directoryDuration'> | undefined, operation: string, work: () => Promise<T>): Promise<T> {
  if (!metrics) return work();
  const done = metrics.directoryDuration.startTimer({ operation });
  try {
    const value = await work();
    done({ outcome: 'ok' });
    return value;
  } catch (err) {
    done({ outcome: err instanceof InvalidCredentialsError ? 'refused' : 'error' });
    throw err;
  }
}

export class LdapDirectory implements Directory {
  private readonly connector: LdapConnector;
  private readonly groups: GroupResolver;

  /** `metrics` times each operation; short-lived commands and tests may pass none. */
  constructor(
    private readonly config: LdapConfig,
    private readonly metrics?: Pick<Metrics, 'directoryDuration'>,
  ) {
    this.connector = new LdapConnector(config);
    this.groups = new GroupResolver(config);
  }

  async authenticate(username: string, password: string, beforeBind?: BeforeBind, known?: DirectoryUser): Promise<DirectoryUser> {
    return timed(this.metrics, 'authenticate', () => this.authenticateOnce(username, password, beforeBind, known));
  }

  private async authenticateOnce(username: string, password: string, beforeBind: BeforeBind | undefined, known: DirectoryUser | undefined): Promise<DirectoryUser> {
    const wanted = normalizeUsername(loginName(this.config.preset, username));
    // An empty password would be an anonymous bind, which many servers accept: refuse it before any bind.
    if (wanted === '' || password === '') throw new InvalidCredentialsError('empty username or password');
    if (hasControlCharacters(wanted)) throw new InvalidCredentialsError('control characters in the username');
    const found = known ?? (await this.withService((client) => this.findUser(client, fillFilter(this.config.userFilter, { username: wanted }))));
    // Asked for nobody too, so that a name without an account is refused and counted as one with.
    await beforeBind?.(found ? found.username : signInName(this.config.preset, username));
    if (!found) throw new InvalidCredentialsError(`no entry for ${wanted}`);
    // The password policy control rides along: ppolicy answers a reset or a grace sign-in with it.
    const policy = new PasswordPolicyControl();
    try {
      const client = await this.connector.bind(found.dn, password, policy);
      await client.unbind().catch(() => undefined);
    } catch (err) {
      const mustChange = this.config.preset === 'activedirectory' ? adPasswordChangeReason(err) : undefined;
      if (mustChange) throw new PasswordChangeRequiredError(found, mustChange);
      if (policy.error === 'passwordExpired') throw new PasswordExpiredError(`bind refused for ${found.dn}: password expired, no grace sign-ins left`);
      const error = userBindError(err, found.dn);
      // The entry is known: failures count against it, whichever spelling found it.
      if (error instanceof InvalidCredentialsError) error.entryUsername = found.username;
      throw error;
    }
    if (policy.error === 'changeAfterReset') throw new PasswordChangeRequiredError(found, 'must-change');
    if (policy.graceAuthNsRemaining !== undefined) throw new PasswordChangeRequiredError(found, 'expired', policy.graceAuthNsRemaining);
    // FreeIPA lets LDAP binds through with an expired krbPasswordExpiration (only its KDC enforces
    // it, and an admin's reset sets it to "now"): the gateway enforces it as the KDC would.
    if (found.passwordExpiresAt !== undefined && found.passwordExpiresAt <= Date.now()) throw new PasswordChangeRequiredError(found, 'expired');
    // ppolicy says how long is left only inside its pwdExpireWarning window.
    if (policy.timeBeforeExpiration !== undefined) found.passwordExpiresAt = Date.now() + policy.timeBeforeExpiration * 1000;
    return found;
  }

  async changePassword(username: string, current: string, next: string): Promise<void> {
    return timed(this.metrics, 'change_password', () => this.changePasswordOnce(username, current, next));
  }

  private async changePasswordOnce(username: string, current: string, next: string): Promise<void> {
    if (current === '' || next === '') throw new InvalidCredentialsError('empty password in a change');
    const user = await this.lookupOnce(username);
    if (!user) throw new InvalidCredentialsError(`no entry for ${username} to change the password of`);
    const ad = this.config.preset === 'activedirectory';
    if (!canChangePasswords(this.config)) throw new PasswordChangeNeedsTlsError();
    let client: Client;
    try {
      client = await this.connector.bind(user.dn, current);
    } catch (err) {
      // AD refuses the person's bind when the password must be changed or has expired; the change
      // (old password in hand) then goes over the service account, as AD allows anyone.
      if (!ad || !adPasswordChangeReason(err)) throw userBindError(err, user.dn);
      client = await this.bindService();
    }
    try {
      await (ad ? adPasswordChange(client, user.dn, current, next) : passwordModify(client, current, next));
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async lookup(username: string): Promise<DirectoryUser | undefined> {
    return timed(this.metrics, 'lookup', () => this.lookupOnce(username));
  }

  /**
   * Sessions, the re-check and sync know people by their Paperless name: the value of the
   * username attribute, which need not be what they type at sign-in (GATEWAY_LDAP_USERNAME_ATTRIBUTE
   * may name another attribute than the sign-in filter). So the lookup matches that attribute.
   */
  private async lookupOnce(username: string): Promise<DirectoryUser | undefined> {
    const wanted = normalizeUsername(username);
    if (wanted === '' || hasControlCharacters(wanted)) return undefined;
    const anyone = this.config.userFilter.replaceAll('{username}', '*');
    const filter = `(&${anyone}(${this.config.attributes.username}=${escapeFilterValue(wanted)}))`;
    return this.withService((client) => this.findUser(client, filter));
  }

  /** Every user the user filter admits, page by page; groups resolved for each. */
  async *listUsers(): AsyncGenerator<DirectoryUser> {
    const client = await this.bindService();
    let listed = 0;
    try {
      const filter = this.config.userFilter.replaceAll('{username}', '*');
      const pages = client.searchPaginated(this.config.userBase, {
        scope: 'sub',
        filter,
        attributes: this.userAttributes(),
        paged: { pageSize: this.config.pageSize },
      });
      for await (const page of pages) {
        for (const entry of page.searchEntries) {
          const user = await this.toUser(client, entry);
          listed++;
          if (user) yield user;
        }
      }
    } catch (err) {
      if (err instanceof DirectoryUnavailableError) throw err;
      const limit = listingLimitError(err, this.config, listed);
      if (limit) throw limit;
      const known = await baseSearchError(client, 'GATEWAY_LDAP_USER_BASE', this.config.userBase, err);
      if (known instanceof DirectoryUnavailableError) throw known;
      throw new DirectoryUnavailableError(`listing users failed: ${String(err)}`, { cause: err });
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async missingGroups(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    return this.withService(async (client) => {
      try {
        return await missingGroups(client, this.config, names);
      } catch (err) {
        const known = await baseSearchError(client, 'GATEWAY_LDAP_GROUP_BASE', this.config.groupBase, err);
        if (known instanceof DirectoryUnavailableError) throw known;
        throw new DirectoryUnavailableError(`group search failed: ${String(err)}`, { cause: err });
      }
    });
  }

  /** The service bind, then the bases searches start from: a wrong setting shows here, not at the first sign-in. */
  async check(): Promise<void> {
    await this.withService(async (client) => {
      await requireBase(client, 'GATEWAY_LDAP_USER_BASE', this.config.userBase);
      // memberOf mode reads groups by their DNs: only group search starts from the group base.
      if (this.config.groupMode === 'search') await requireBase(client, 'GATEWAY_LDAP_GROUP_BASE', this.config.groupBase);
    });
  }

  async close(): Promise<void> {
    // A fresh client per operation leaves nothing open between logins.
  }

  private async bindService(): Promise<Client> {
    try {
      return await this.connector.bind(this.config.bindDn, this.config.bindPassword);
    } catch (err) {
      if (err instanceof DirectoryUnavailableError) throw err;
      const reason = err instanceof LdapInvalidCredentials ? 'the service account was refused (check GATEWAY_LDAP_BIND_DN and GATEWAY_LDAP_BIND_PASSWORD)' : String(err);
      throw new DirectoryUnavailableError(`service bind failed: ${reason}`, { cause: err });
    }
  }

  private async withService<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.bindService();
    try {
      return await work(client);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  private userAttributes(): string[] {
    const a = this.config.attributes;
    const expiry = expiryAttribute(this.config.preset);
    return [a.username, a.mail, a.firstName, a.lastName, a.displayName, ...(expiry ? [expiry] : []), ...restrictionAttributes(this.config.preset), ...this.groups.userAttributes];
  }

  private async findUser(client: Client, filter: string): Promise<DirectoryUser | undefined> {
    let entries: Entry[];
    try {
      ({ searchEntries: entries } = await client.search(this.config.userBase, {
        scope: 'sub',
        filter,
        attributes: this.userAttributes(),
        sizeLimit: 2,
      }));
    } catch (err) {
      if (err instanceof SizeLimitExceededError) return undefined; // more than one match: see below
      const known = await baseSearchError(client, 'GATEWAY_LDAP_USER_BASE', this.config.userBase, err);
      if (known instanceof DirectoryUnavailableError) throw known;
      throw new DirectoryUnavailableError(`user search failed: ${String(err)}`, { cause: err });
    }
    // Two matches means the filter is too loose; signing in as either would be a guess.
    if (entries.length !== 1) return undefined;
    return this.toUser(client, entries[0] as Entry);
  }

  private async toUser(client: Client, entry: Entry): Promise<DirectoryUser | undefined> {
    const { attributes } = this.config;
    const name = firstValue(entry, attributes.username);
    if (!name) return undefined;
    const user: DirectoryUser = { username: normalizeUsername(name), nameAsStored: name, dn: entry.dn, groups: await this.groups.resolve(client, entry, name) };
    const email = firstValue(entry, attributes.mail);
    const firstName = firstValue(entry, attributes.firstName);
    const lastName = firstValue(entry, attributes.lastName);
    const displayName = firstValue(entry, attributes.displayName);
    if (email) user.email = email;
    if (firstName) user.firstName = firstName;
    if (lastName) user.lastName = lastName;
    if (displayName) user.displayName = displayName;
    const expiresAt = passwordExpiry(this.config.preset, entry);
    if (expiresAt !== undefined) user.passwordExpiresAt = expiresAt;
    const restricted = accountRestriction(this.config.preset, entry, Date.now());
    if (restricted) user.restricted = restricted;
    return user;
  }
}
