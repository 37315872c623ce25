/** Paperless's database as the simulator keeps it: users, groups, sessions, tokens, share links, documents. */
import { randomBytes } from 'node:crypto';
import type { UpstreamUser } from '../upstream.js';
import { qualified } from './permissions.js';

export interface SimUser extends UpstreamUser {
  password: string;
  date_joined: string;
}

export interface SimGroup {
  id: number;
  name: string;
  permissions: string[];
}

/** A document: its owner and whom it is shared with (object permission view_document), by id. */
export interface SimDocument {
  id: number;
  title: string;
  owner: number | null;
  viewUsers: number[];
  viewGroups: number[];
}

export interface SimSession {
  userId: number;
}

export class SimStore {
  users: SimUser[] = [];
  groups: SimGroup[] = [];
  readonly sessions = new Map<string, SimSession>();
  readonly tokens = new Map<string, number>();
  readonly uploads: Array<{ user: string; bytes: number }> = [];
  /** Share-link slugs and whether each has expired. */
  readonly shareLinks = new Map<string, boolean>();
  documents: SimDocument[] = [];
  private nextUserId = 1;
  private nextGroupId = 1;
  private nextDocumentId = 1;

  addUser(fields: Partial<SimUser> & { username: string }): SimUser {
    const user: SimUser = {
      id: this.nextUserId++,
      password: '',
      email: '',
      first_name: '',
      last_name: '',
      is_staff: false,
      is_active: true,
      is_superuser: false,
      groups: [],
      user_permissions: [],
      date_joined: new Date().toISOString(),
      ...fields,
    };
    this.users.push(user);
    return user;
  }

  addGroup(name: string, permissions: string[] = []): SimGroup {
    const group = { id: this.nextGroupId++, name, permissions };
    this.groups.push(group);
    return group;
  }

  addDocument(fields: Omit<SimDocument, 'id'>): SimDocument {
    const document = { id: this.nextDocumentId++, ...fields };
    this.documents.push(document);
    return document;
  }

  /**
   * Paperless's get_objects_for_user_owner_aware(user, "documents.view_document", Document): the
   * documents the user owns, those nobody owns, and those shared with the user or one of the
   * user's groups (an object permission; the global view_document does not count here).
   * A superuser sees all. Newest first, as Paperless orders its list by creation date.
   */
  documentsFor(user: SimUser): SimDocument[] {
    const visible = (d: SimDocument) =>
      user.is_superuser || d.owner === null || d.owner === user.id || d.viewUsers.includes(user.id) || d.viewGroups.some((g) => user.groups.includes(g));
    return this.documents.filter(visible).sort((a, b) => b.id - a.id);
  }

  /** Case-sensitive, like Django's username lookup. */
  user(username: string): SimUser | undefined {
    return this.users.find((u) => u.username === username);
  }

  userById(id: number | undefined): SimUser | undefined {
    return this.users.find((u) => u.id === id);
  }

  removeUser(user: SimUser): void {
    this.users = this.users.filter((u) => u !== user);
    // Document.owner is SET_NULL; the user's object permissions go with the user.
    for (const d of this.documents) {
      if (d.owner === user.id) d.owner = null;
      d.viewUsers = d.viewUsers.filter((id) => id !== user.id);
    }
  }

  removeGroup(group: SimGroup): void {
    this.groups = this.groups.filter((g) => g !== group);
    for (const u of this.users) u.groups = u.groups.filter((g) => g !== group.id);
    for (const d of this.documents) d.viewGroups = d.viewGroups.filter((g) => g !== group.id);
  }

  /** The active user a session belongs to, as Django's session auth finds it. */
  sessionUser(sessionId: string | undefined): SimUser | undefined {
    const session = sessionId ? this.sessions.get(sessionId) : undefined;
    const user = session ? this.userById(session.userId) : undefined;
    return user?.is_active ? user : undefined;
  }

  newSession(user: SimUser): string {
    const sid = randomBytes(16).toString('hex');
    this.sessions.set(sid, { userId: user.id });
    return sid;
  }

  tokenFor(username: string): string {
    const user = this.user(username) ?? this.addUser({ username });
    for (const [key, id] of this.tokens) if (id === user.id) return key;
    const key = randomBytes(20).toString('hex');
    this.tokens.set(key, user.id);
    return key;
  }

  tokenOf(user: SimUser): string | null {
    return [...this.tokens].find(([, id]) => id === user.id)?.[0] ?? null;
  }

  regenerateToken(user: SimUser): string {
    for (const [key, id] of this.tokens) if (id === user.id) this.tokens.delete(key);
    return this.tokenFor(user.username);
  }

  groupNamesOf(user: SimUser): string[] {
    return this.groups.filter((g) => user.groups.includes(g.id)).map((g) => g.name).sort();
  }

  permissionsOf(user: SimUser): Set<string> {
    const perms = new Set(user.user_permissions);
    for (const gid of user.groups) for (const p of this.groups.find((g) => g.id === gid)?.permissions ?? []) perms.add(p);
    return perms;
  }

  has(user: SimUser, codename: string): boolean {
    return user.is_active && (user.is_superuser || this.permissionsOf(user).has(codename));
  }

  /** Paperless's UserSerializer. */
  serializeUser(u: SimUser) {
    const inherited = new Set<string>();
    for (const gid of u.groups) for (const p of this.groups.find((g) => g.id === gid)?.permissions ?? []) inherited.add(qualified(p));
    return {
      id: u.id,
      username: u.username,
      email: u.email,
      // Paperless's ObfuscatedUserPasswordField: asterisks for a local password, '' for none.
      password: u.password ? '**********' : '',
      first_name: u.first_name,
      last_name: u.last_name,
      date_joined: u.date_joined,
      is_staff: u.is_staff,
      is_active: u.is_active,
      is_superuser: u.is_superuser,
      groups: u.groups,
      user_permissions: u.user_permissions,
      inherited_permissions: [...inherited],
      is_mfa_enabled: false,
    };
  }
}
