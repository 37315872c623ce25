import { isAllowed } from '../directory/allowed-groups.js';
import type { Directory } from '../directory/directory.js';
import type { DesiredState } from './desired.js';
import type { PaperlessApi, PaperlessGroup, PaperlessUser } from '../paperless/api.js';
import { userChanges, type Provisioner, type UserChange } from './provisioner.js';
import { byName } from '../paperless/by-name.js';
import { GatewayError } from '../errors.js';

export interface UserPlan {
  username: string;
  state: DesiredState;
  /** Paperless id of an existing user; absent for a user to create. */
  id?: number;
  /** Fields that change (group ids shown as names in `membership`). */
  fields: string[];
  membership: { add: string[]; remove: string[] };
}

export interface DeactivationPlan {
  username: string;
  id: number;
  removeGroups: string[];
}

export interface SyncPlan {
  create: UserPlan[];
  update: UserPlan[];
  unchanged: number;
  deactivate: DeactivationPlan[];
  /** Users who would be deactivated but must not be, and why. */
  protected: Array<{ username: string; reason: string }>;
  createGroups: string[];
  /**
   * Why this plan must not be applied (the deprovisioning guard): the directory looks broken
   * rather than emptied, so nothing at all is written.
   */
  halt?: string;
}

export interface SyncOptions {
  deprovision: boolean;
  /**
   * The largest share (0 to 1) of the gateway's active users one sync may deactivate; beyond
   * it (and beyond DEPROVISION_ALWAYS_ALLOWED) the sync stops. Default DEFAULT_MAX_DEPROVISION_SHARE.
   */
  maxDeprovisionShare?: number;
  onProgress?: (done: number, total: number, phase: string) => void;
}

/** The share of the gateway's active users one sync may deactivate unless told otherwise. */
export const DEFAULT_MAX_DEPROVISION_SHARE = 0.1;
/** This many deactivations are always allowed, whatever the share: a small site may lose a few people at once. */
export const DEPROVISION_ALWAYS_ALLOWED = 3;

/** A sync stopped by the deprovisioning guard: nothing was written, and the message says why. */
export class SyncHaltedError extends GatewayError {
  readonly status = 409;
  constructor(reason: string) {
    super(`sync stopped, nothing was changed: ${reason}`, 'The directory sync stopped without changing anything. Ask your administrator.');
  }
}

/**
 * The deprovisioning guard: a directory that suddenly returns nobody in scope, or a plan that
 * would deactivate more than the allowed share of the gateway's active users, is far likelier a
 * broken search (a wrong base, filter or group name, a replica half-way through a restore) than
 * people leaving; deactivating on it would lock everyone out.
 */
function guard(plan: SyncPlan, inScope: number, activeManaged: number, maxShare: number): string | undefined {
  const count = plan.deactivate.length;
  if (count === 0) return undefined;
  if (inScope === 0) {
    return `the directory returned nobody in scope, yet ${count} users would be deactivated; check GATEWAY_LDAP_USER_BASE, the user filter and GATEWAY_LDAP_ALLOWED_GROUPS`;
  }
  const limit = Math.max(DEPROVISION_ALWAYS_ALLOWED, Math.floor(maxShare * activeManaged));
  if (count > limit) {
    return `${count} of ${activeManaged} active users would be deactivated, more than the allowed ${Math.round(maxShare * 100)} % (at most ${limit}); check the directory, or deactivate them with a larger GATEWAY_SYNC_DEPROVISION_MAX_SHARE once you are sure`;
  }
  return undefined;
}

/** What planning reads: Paperless's users and groups, and what the gateway has recorded. */
export type PlanSource = Pick<Provisioner, 'desired' | 'provisionedUsers' | 'managedGroupNames'> & { api: Pick<PaperlessApi, 'listGroups' | 'listUsers' | 'whoami'> };

/** Ends a user's gateway sessions everywhere; returns how many there were. */
export type RevokeSessions = (username: string) => Promise<number>;

function findUser(users: PaperlessUser[], username: string): PaperlessUser | undefined {
  return byName(users, username, (u) => u.username);
}

/**
 * Compares every user in the directory's scope with Paperless and says what
 * would change: users to create, update and (with deprovision) deactivate,
 * groups to create, membership changes. Reads only.
 */
export async function planSync(directory: Pick<Directory, 'listUsers'>, allowedGroups: readonly string[], provisioner: PlanSource, options: SyncOptions): Promise<SyncPlan> {
  const api = provisioner.api;
  const [groups, users, me, provisioned, managed] = await Promise.all([
    api.listGroups(),
    api.listUsers(),
    api.whoami(),
    provisioner.provisionedUsers(),
    provisioner.managedGroupNames(),
  ]);
  const nameOf = new Map(groups.map((g) => [g.id, g.name]));
  const idOf = (name: string) => byName(groups, name, (g) => g.name)?.id;
  const plan: SyncPlan = { create: [], update: [], unchanged: 0, deactivate: [], protected: [], createGroups: [] };
  const inScope = new Set<string>();
  const missingGroups = new Set<string>();
  let seen = 0;

  for await (const user of directory.listUsers()) {
    options.onProgress?.(++seen, 0, 'reading directory');
    if (!isAllowed(user, allowedGroups)) continue;
    inScope.add(user.username);
    const state = await provisioner.desired(user);
    for (const g of state.groups) {
      if (idOf(g.name) === undefined) missingGroups.add(g.name);
      else if (!g.permissions) managed.add(g.name);
    }
    const current = findUser(users, user.username);
    // Groups still to be created get stand-in ids, so membership can be compared before they exist.
    const wanted = state.account.groups.map((name, i) => idOf(name) ?? -(i + 1));
    const managedIds = new Set(groups.filter((g) => managed.has(g.name)).map((g) => g.id));
    if (!current) {
      plan.create.push({ username: user.username, state, fields: [], membership: { add: state.account.groups, remove: [] } });
      continue;
    }
    const changes: UserChange = userChanges(current, state.account, wanted, managedIds);
    if (Object.keys(changes).length === 0) {
      plan.unchanged++;
      continue;
    }
    const before = new Set(current.groups);
    const after = new Set(changes.groups ?? current.groups);
    const label = (id: number) => nameOf.get(id) ?? state.account.groups[-id - 1] ?? String(id);
    plan.update.push({
      username: user.username,
      state,
      id: current.id,
      fields: Object.keys(changes).filter((f) => f !== 'groups'),
      membership: { add: [...after].filter((id) => !before.has(id)).map(label), remove: [...before].filter((id) => !after.has(id)).map(label) },
    });
  }
  plan.createGroups = [...missingGroups].sort();

  if (options.deprovision) {
    let activeSuperusers = users.filter((u) => u.is_active && u.is_superuser).length;
    const managedIds = new Set(groups.filter((g) => managed.has(g.name)).map((g) => g.id));
    for (const username of provisioned.sort()) {
      if (inScope.has(username)) continue;
      const current = findUser(users, username);
      if (!current?.is_active) continue;
      if (current.username === me.username) {
        plan.protected.push({ username, reason: "the API token's own user" });
        continue;
      }
      if (current.is_superuser && activeSuperusers <= 1) {
        plan.protected.push({ username, reason: 'the last active superuser' });
        continue;
      }
      if (current.is_superuser) activeSuperusers--;
      plan.deactivate.push({ username, id: current.id, removeGroups: current.groups.filter((id) => managedIds.has(id)).map((id) => nameOf.get(id) ?? String(id)) });
    }
    const activeManaged = provisioned.filter((username) => username !== me.username && findUser(users, username)?.is_active).length;
    const halt = guard(plan, inScope.size, activeManaged, options.maxDeprovisionShare ?? DEFAULT_MAX_DEPROVISION_SHARE);
    if (halt) plan.halt = halt;
  }
  return plan;
}

export interface SyncSummary {
  created: number;
  updated: number;
  deactivated: number;
  groupsCreated: number;
  sessionsRevoked: number;
  unchanged: number;
}

/** Carries a plan out through the same provisioning code logins use. */
export async function applySync(plan: SyncPlan, provisioner: Provisioner, revoke: RevokeSessions, options: SyncOptions): Promise<SyncSummary> {
  // Before any write: a directory that looks broken must not half-apply either.
  if (plan.halt) throw new SyncHaltedError(plan.halt);
  const groups: PaperlessGroup[] = await provisioner.api.listGroups();
  const work = [...plan.create, ...plan.update];
  const total = work.length + plan.deactivate.length;
  let done = 0;
  for (const item of work) {
    await provisioner.applyPlanned(item.state, { groups });
    options.onProgress?.(++done, total, 'applying');
  }
  let sessionsRevoked = 0;
  for (const item of plan.deactivate) {
    const current = await provisioner.api.findUser(item.username);
    if (current) {
      const keep = current.groups.filter((id) => !item.removeGroups.includes(groups.find((g) => g.id === id)?.name ?? ''));
      await provisioner.api.updateUser(current.id, { is_active: false, groups: keep });
    }
    await provisioner.forget(item.username);
    sessionsRevoked += await revoke(item.username);
    options.onProgress?.(++done, total, 'applying');
  }
  return {
    created: plan.create.length,
    updated: plan.update.length,
    deactivated: plan.deactivate.length,
    groupsCreated: plan.createGroups.length,
    sessionsRevoked,
    unchanged: plan.unchanged,
  };
}
