import { createHash } from 'node:crypto';
import type { RedisClient as Redis } from '../redis/client.js';
import type { Logger } from 'pino';
import type { DirectoryUser } from '../directory/directory.js';
import { GatewayError } from '../errors.js';
import { RedisUnavailableError } from '../redis/errors.js';
import type { RedisKeys } from '../redis/keys.js';
import { desiredState, mappedGroupNames, type DesiredAccount, type DesiredGroup, type DesiredState } from './desired.js';
import { LocalAccountError, MappingVersionMismatchError, ReservedAccountError, TokenUserUnknownError } from './errors.js';
import { collationFold } from '../directory/username.js';
import { PaperlessApiError } from '../paperless/errors.js';
import { withLock } from './lock.js';
import { mappingForLine, MappingVersionError, type ProvisioningMapping } from '../config/mapping.js';
import { lineOf } from '../config/permissions.js';
import type { PaperlessApi, PaperlessGroup, PaperlessUser } from '../paperless/api.js';
import { byName } from '../paperless/by-name.js';

/** How long "Paperless already matches" is trusted without asking: a user deleted in Paperless comes back after this. */
const STATE_TTL_SECONDS = 6 * 3600;
/** How often a process writes the token's user to Redis again (see keepTokenUser). */
const TOKEN_USER_REWRITE_MS = 3_600_000;
/** One writer per user across replicas; a holder that dies frees it after the TTL. */
const USER_LOCK = { ttlMs: 30_000, waitMs: 15_000 };

export type UserChange = Partial<Omit<PaperlessUser, 'id'>>;

const sameSet = <T>(a: readonly T[], b: readonly T[]) => a.length === b.length && new Set([...a, ...b]).size === new Set(a).size;

/** The fields of an existing Paperless user that differ from the desired account. */
export function userChanges(current: PaperlessUser, account: DesiredAccount, groupIds: number[], managedIds: Set<number>): UserChange {
  const changes: UserChange = {};
  if (current.username !== account.username) changes.username = account.username;
  for (const field of ['email', 'first_name', 'last_name'] as const) if (current[field] !== account[field]) changes[field] = account[field];
  for (const flag of ['is_superuser', 'is_staff'] as const) if (current[flag] !== account[flag]) changes[flag] = account[flag];
  if (!current.is_active) changes.is_active = true;
  // Groups the gateway does not manage stay as admins set them.
  const groups = [...new Set([...current.groups.filter((id) => !managedIds.has(id)), ...groupIds])].sort((a, b) => a - b);
  if (!sameSet(groups, current.groups)) changes.groups = groups;
  const permissions = [...new Set([...current.user_permissions, ...account.permissions])].sort();
  if (!sameSet(permissions, current.user_permissions)) changes.user_permissions = permissions;
  return changes;
}

/** What a provisioner learns from Paperless at its first question: whose token it holds, and Paperless's versions. */
export interface PaperlessFacts {
  tokenUsername: string;
  paperlessVersion: string | undefined;
  apiVersion: number;
}

/**
 * Makes Paperless match the directory for one person, before their first
 * proxied request: the account, its names and flags, its managed groups
 * (created with their permissions when missing). A hash of the desired state
 * in Redis makes an unchanged login cost no Paperless call at all.
 */
export class Provisioner {
  private readonly mapped: Set<string>;
  private tokenUser?: Promise<string>;
  private tokenUserKeptAt = -Infinity;
  private readonly learntListeners: Array<(facts: PaperlessFacts) => void> = [];
  /** The mapping in the codenames of the Paperless version it was last resolved for. */
  private resolved?: { version: string; mapping: ProvisioningMapping };

  constructor(
    readonly api: PaperlessApi,
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    readonly mapping: ProvisioningMapping,
    private readonly log: Logger,
    private readonly options: { adoptLocalUsers: boolean } = { adoptLocalUsers: false },
  ) {
    this.mapped = mappedGroupNames(mapping);
  }

  /**
   * The Paperless user of the API token, asked once (a failure is asked again next time). What
   * Paperless says is kept in Redis for every thread and replica that cannot ask it later.
   */
  tokenUsername(): Promise<string> {
    this.tokenUser ??= this.api.whoami().then(
      async (me) => {
        const facts: PaperlessFacts = { tokenUsername: me.username, paperlessVersion: this.api.paperlessVersion, apiVersion: this.api.apiVersion };
        for (const listener of this.learntListeners) listener(facts);
        await this.keepTokenUser(me.username);
        return me.username;
      },
      (err: unknown) => {
        this.tokenUser = undefined;
        throw err;
      },
    );
    return this.tokenUser;
  }

  /** Hears what this provisioner learnt by asking Paperless (the other thread's adopts it). */
  onLearnt(listener: (facts: PaperlessFacts) => void): void {
    this.learntListeners.push(listener);
  }

  /**
   * What the other thread's provisioner learnt from the same Paperless with the same token: asked
   * once per process, not once per thread (a question already under way here is kept).
   */
  adopt(facts: PaperlessFacts): void {
    this.tokenUser ??= Promise.resolve(facts.tokenUsername);
    if (facts.paperlessVersion !== undefined) this.api.adoptVersions({ paperlessVersion: facts.paperlessVersion, apiVersion: facts.apiVersion });
  }

  private tokenUserKey(): string {
    return this.key(`token-user:${this.api.tokenId}`);
  }

  /**
   * Kept without an expiry (a token's user never changes; a new user means a new token, under
   * another key) and written again at most hourly, so a Redis that lost it (restarted without
   * persistence, flushed) has it back from any replica that knows it.
   */
  private async keepTokenUser(username: string): Promise<void> {
    const now = Date.now();
    if (now - this.tokenUserKeptAt < TOKEN_USER_REWRITE_MS) return;
    try {
      await this.redis.set(this.tokenUserKey(), username);
      this.tokenUserKeptAt = now;
    } catch (err) {
      this.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'cannot keep the token user in Redis yet');
    }
  }

  /**
   * Whether this name is the token's user, compared as Paperless's database finds a row (case
   * and accents folded). While Paperless cannot say whose the token is, the name learnt before by
   * any thread or replica decides; without one, nobody can be told apart from that superuser:
   * TokenUserUnknownError, a refusal that GATEWAY_PROVISIONING_FAILURE=allow never lets through.
   */
  async isTokenUser(username: string): Promise<boolean> {
    let tokenUser: string;
    try {
      tokenUser = await this.tokenUsername();
      await this.keepTokenUser(tokenUser);
    } catch (err) {
      const known = await this.redis.get(this.tokenUserKey()).catch(() => null);
      if (known === null) throw new TokenUserUnknownError(username, { cause: err });
      tokenUser = known;
    }
    return collationFold(username) === collationFold(tokenUser);
  }

  /** Nobody signs in as the token's user, and nothing here ever changes it. */
  private async refuseTokenUser(username: string): Promise<void> {
    if (await this.isTokenUser(username)) {
      this.log.warn({ event: 'provisioning.refused', username, reason: 'token user' }, 'sign-in as the gateway token user refused');
      throw new ReservedAccountError(username);
    }
  }

  private key(name: string): string {
    return this.keys.provisioning(name);
  }

  /**
   * The mapping for the Paperless that answers now: its version is read from every answer, so an
   * upgrade from 2.x to 3.x while the gateway runs is followed at the next sign-in.
   */
  async lineMapping(): Promise<ProvisioningMapping> {
    if (this.api.paperlessVersion === undefined) await this.tokenUsername();
    const version = this.api.paperlessVersion ?? 'of unknown version (no X-Version header)';
    if (this.resolved?.version !== version) {
      try {
        this.resolved = { version, mapping: mappingForLine(this.mapping, lineOf(this.api.paperlessVersion), version) };
      } catch (err) {
        if (err instanceof MappingVersionError) throw new MappingVersionMismatchError(err.message, { cause: err });
        throw err;
      }
    }
    return this.resolved.mapping;
  }

  async desired(user: DirectoryUser): Promise<DesiredState> {
    return desiredState(user, await this.lineMapping());
  }

  private hash(state: DesiredState): string {
    return createHash('sha256').update(JSON.stringify(state)).digest('hex');
  }

  /** Whether Paperless has an account of this name (a first sign-in is one without). */
  async hasAccount(username: string): Promise<boolean> {
    return (await this.api.findUser(username)) !== undefined;
  }

  /** Returns whether anything had to be written to Paperless. */
  async provision(user: DirectoryUser): Promise<boolean> {
    try {
      return await this.provisionOnce(user);
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      // Not Paperless (its failures are PaperlessApiError): Redis, for the state, the lock or the sets.
      throw new RedisUnavailableError('provisioning', `state, lock or sets: ${String(err)}`, { cause: err });
    }
  }

  private async provisionOnce(user: DirectoryUser): Promise<boolean> {
    await this.refuseTokenUser(user.username);
    const state = await this.desired(user);
    // The common case, without a lock: Paperless already holds what the directory says.
    if ((await this.redis.get(this.key(`state:${user.username}`))) === this.hash(state)) return false;
    return this.writeAndRecord(state, { unlessCurrent: true });
  }

  /** Writes a state that `planSync` found out of step (sync), and records it as a sign-in would. */
  async applyPlanned(state: DesiredState, known?: { groups: PaperlessGroup[] }): Promise<boolean> {
    await this.refuseTokenUser(state.account.username);
    return this.writeAndRecord(state, { unlessCurrent: false, ...(known ? { known } : {}) });
  }

  /**
   * Under the user's lock (one first sign-in at a time per user, across replicas: two would
   * create two accounts), writes the state to Paperless and records it as current.
   * `unlessCurrent`: another replica may have written it while this one waited for the lock.
   */
  private writeAndRecord(state: DesiredState, options: { unlessCurrent: boolean; known?: { groups: PaperlessGroup[] } }): Promise<boolean> {
    const stateKey = this.key(`state:${state.account.username}`);
    const hash = this.hash(state);
    return withLock(this.redis, this.key(`lock:user:${state.account.username}`), USER_LOCK, async () => {
      if (options.unlessCurrent && (await this.redis.get(stateKey)) === hash) return false;
      const changed = await this.write(state, options.known);
      await this.redis.set(stateKey, hash, 'EX', STATE_TTL_SECONDS);
      return changed;
    });
  }

  /** Whether the gateway provisioned this user (a directory person, not a local Paperless account). */
  async provisioned(username: string): Promise<boolean> {
    return (await this.redis.sismember(this.key('users'), username)) === 1;
  }

  /**
   * Deactivates, at once, a user the gateway provisioned whom the directory no longer lets in,
   * so their Paperless token stops everywhere (also on requests that never pass the gateway),
   * and takes them out of the groups the gateway manages, as `sync --deprovision` does. Nothing
   * is deleted: a later allowed sign-in makes the account active again. Never the API token's
   * user; that user is a superuser, so the last active superuser is never the one deactivated.
   * Returns whether Paperless was changed.
   */
  async deactivate(username: string): Promise<boolean> {
    if (!(await this.provisioned(username))) return false;
    if (await this.isTokenUser(username)) return false;
    const changed = await withLock(this.redis, this.key(`lock:user:${username}`), USER_LOCK, async () => {
      const current = await this.api.findUser(username);
      if (!current?.is_active || current.username !== username) return false;
      const managed = await this.managedGroupNames();
      const managedIds = new Set((await this.api.listGroups()).filter((g) => managed.has(g.name)).map((g) => g.id));
      await this.api.updateUser(current.id, { is_active: false, groups: current.groups.filter((id) => !managedIds.has(id)) });
      return true;
    });
    // The recorded state said "matches": without forgetting it, the next allowed sign-in would not reactivate.
    await this.forget(username);
    if (changed) this.log.info({ event: 'provisioning.user_deactivated', username }, 'Paperless user deactivated: the directory no longer lets them in');
    return changed;
  }

  /** Forgets that Paperless matched, so the next login or sync writes again. */
  async forget(username: string): Promise<void> {
    await this.redis.del(this.key(`state:${username}`));
  }

  /** Names of the users the gateway has provisioned (only they are ever deprovisioned). */
  provisionedUsers(): Promise<string[]> {
    return this.redis.smembers(this.key('users'));
  }

  /** Groups the gateway manages: the mapped ones, and those it mirrored from the directory. */
  async managedGroupNames(): Promise<Set<string>> {
    return new Set([...this.mapped, ...(await this.redis.smembers(this.key('mirrored-groups')))]);
  }

  /** Writes one desired state to Paperless, unconditionally; the caller has ruled out the token user. */
  private async write(state: DesiredState, known?: { groups: PaperlessGroup[] }): Promise<boolean> {
    let changed = false;
    const groups = known?.groups ?? (await this.api.listGroups());
    const ids = new Map<string, number>();
    for (const want of state.groups) {
      const { group, written } = await this.ensureGroup(groups, want);
      ids.set(want.name, group.id);
      changed ||= written;
    }
    const managed = await this.managedGroupNames();
    const managedIds = new Set(groups.filter((g) => managed.has(g.name)).map((g) => g.id));
    const groupIds = state.account.groups.map((name) => ids.get(name) as number);
    changed = (await this.ensureUser(state.account, groupIds, managedIds)) || changed;
    await this.redis.sadd(this.key('users'), state.account.username);
    return changed;
  }

  private findGroup(groups: PaperlessGroup[], name: string): PaperlessGroup | undefined {
    return byName(groups, name, (g) => g.name);
  }

  private async ensureGroup(groups: PaperlessGroup[], want: DesiredGroup): Promise<{ group: PaperlessGroup; written: boolean }> {
    const existing = this.findGroup(groups, want.name);
    if (existing) {
      if (want.permissions && !sameSet(existing.permissions, want.permissions)) {
        const updated = await this.api.updateGroup(existing.id, { permissions: want.permissions });
        existing.permissions = updated.permissions;
        this.log.info({ event: 'provisioning.group_updated', group: want.name }, 'group permissions updated');
        return { group: existing, written: true };
      }
      return { group: existing, written: false };
    }
    let created: PaperlessGroup;
    try {
      created = await this.api.createGroup(want.name, want.permissions ?? []);
      this.log.info({ event: 'provisioning.group_created', group: want.name }, 'group created');
    } catch (err) {
      // Another login created it a moment ago: take theirs.
      if (!(err instanceof PaperlessApiError && err.httpStatus === 400)) throw err;
      const again = this.findGroup(await this.api.listGroups(), want.name);
      if (!again) throw err;
      created = again;
    }
    groups.push(created);
    if (!want.permissions) await this.redis.sadd(this.key('mirrored-groups'), want.name);
    return { group: created, written: true };
  }

  /**
   * An existing Paperless user the gateway did not create is taken over only when it has no local
   * password (Paperless's own header login made it), or when the admin allows it: otherwise a
   * directory user named `admin` would become Paperless's local `admin`.
   */
  private async mayAdopt(current: PaperlessUser): Promise<void> {
    if (this.options.adoptLocalUsers || !current.password) return;
    if (await this.redis.sismember(this.key('users'), current.username)) return;
    this.log.warn({ event: 'provisioning.refused', username: current.username, reason: 'local account' }, 'refused to take over a local Paperless account');
    throw new LocalAccountError(current.username);
  }

  private async ensureUser(account: DesiredAccount, groupIds: number[], managedIds: Set<number>): Promise<boolean> {
    let current = await this.api.findUser(account.username);
    if (current) await this.mayAdopt(current);
    else {
      try {
        // No local password: the directory holds the real one, and an account without one is
        // recognisably not a local Paperless account.
        await this.api.createUser({
          username: account.username,
          email: account.email,
          first_name: account.first_name,
          last_name: account.last_name,
          is_active: true,
          is_staff: account.is_staff,
          is_superuser: account.is_superuser,
          groups: groupIds,
          user_permissions: account.permissions,
        });
        this.log.info({ event: 'provisioning.user_created', username: account.username }, 'Paperless user created');
        return true;
      } catch (err) {
        if (!(err instanceof PaperlessApiError && err.httpStatus === 400)) throw err;
        current = await this.api.findUser(account.username);
        if (!current) throw err;
      }
    }
    const changes = userChanges(current, account, groupIds, managedIds);
    if (Object.keys(changes).length === 0) return false;
    await this.api.updateUser(current.id, changes);
    this.log.info({ event: 'provisioning.user_updated', username: account.username, fields: Object.keys(changes) }, 'Paperless user updated');
    return true;
  }
}
