/** The parts of Paperless's REST API the gateway uses: profile, uploads, documents, users and groups. */
import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import { documentBytes } from '../multipart.js';
import { type Answer, HttpError, json, paginate, readJson } from './http.js';
import type { Settings } from './options.js';
import { codenameFor, codenamesOf } from './permissions.js';
import type { SimDocument, SimGroup, SimStore, SimUser } from './store.js';

/** Tells the status websockets about a document's progress. */
export type StatusUpdate = (owner: SimUser, data: Record<string, unknown>) => void;

const forbidden = () => new HttpError(403, { detail: 'You do not have permission to perform this action.' });

export class RestApi {
  constructor(
    private readonly store: SimStore,
    private readonly settings: Settings,
    private readonly statusUpdate: StatusUpdate,
  ) {}

  async answer(req: http.IncomingMessage, url: URL, user: SimUser): Promise<Answer> {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const need = (codename: string) => {
      if (!this.store.has(user, codename)) throw forbidden();
    };

    if (path === '/api/ui_settings/') {
      need('view_uisettings');
      return json(200, { user: { id: user.id, username: user.username, is_staff: user.is_staff, is_superuser: user.is_superuser }, settings: {}, permissions: [...this.store.permissionsOf(user)] });
    }
    if (path === '/api/profile/') {
      return json(200, { email: user.email, first_name: user.first_name, last_name: user.last_name, auth_token: this.store.tokenOf(user), has_usable_password: Boolean(user.password) });
    }
    if (path === '/api/profile/generate_auth_token/' && method === 'POST') return json(200, this.store.regenerateToken(user));
    if (path === '/api/documents/post_document/' && method === 'POST') {
      need('add_document');
      return this.upload(req, user);
    }
    if (path === '/api/documents/' && method === 'GET') {
      need('view_document');
      return json(200, paginate(this.store.documentsFor(user), url, req, this.settings.maxPageSize, serializeDocument));
    }
    const document = /^\/api\/documents\/(\d+)\/$/.exec(path);
    if (document && method === 'GET') {
      need('view_document');
      const found = this.store.documentsFor(user).find((d) => d.id === Number(document[1]));
      if (!found) throw new HttpError(404, { detail: 'No Document matches the given query.' });
      return json(200, serializeDocument(found));
    }
    const users = /^\/api\/users\/(?:(\d+)\/)?$/.exec(path);
    if (users) return this.users(req, url, user, users[1] === undefined ? undefined : Number(users[1]));
    const groups = /^\/api\/groups\/(?:(\d+)\/)?$/.exec(path);
    if (groups) return this.groups(req, url, user, groups[1] === undefined ? undefined : Number(groups[1]));
    throw new HttpError(404, { detail: 'Not found.' });
  }

  /** Consumes the document and reports its progress as Paperless's consumer does. */
  private async upload(req: http.IncomingMessage, user: SimUser): Promise<Answer> {
    const bytes = await documentBytes(req);
    if (bytes === undefined) throw new HttpError(400, { document: ['No file was submitted.'] });
    this.store.uploads.push({ user: user.username, bytes });
    const taskId = randomBytes(16).toString('hex');
    const about = { task_id: taskId, filename: 'upload', document_id: null };
    this.statusUpdate(user, { ...about, status: 'STARTED', current_progress: 0, message: 'new_file' });
    this.statusUpdate(user, { ...about, status: 'WORKING', current_progress: 50, message: 'parsing_document' });
    // The consumed document is the uploader's, as a web-UI upload is in Paperless.
    const document = this.store.addDocument({ title: 'upload', owner: user.id, viewUsers: [], viewGroups: [] });
    this.statusUpdate(user, { ...about, status: 'SUCCESS', current_progress: 100, message: 'finished', document_id: document.id });
    return json(200, taskId);
  }

  private checkModelPermission(user: SimUser, method: string, model: string): void {
    if (!this.store.has(user, codenameFor(method, model))) throw forbidden();
  }

  private async users(req: http.IncomingMessage, url: URL, actor: SimUser, id: number | undefined): Promise<Answer> {
    const method = req.method ?? 'GET';
    this.checkModelPermission(actor, method, 'user');
    if (id === undefined && method === 'GET') {
      return json(200, paginate(filter(this.store.users, 'username', url), url, req, this.settings.maxPageSize, (u) => this.store.serializeUser(u)));
    }
    if (id === undefined && method === 'POST') {
      const body = await readJson(req);
      guardPrivileged(actor, body, undefined);
      const username = body.username;
      if (typeof username !== 'string' || username === '') throw new HttpError(400, { username: ['This field is required.'] });
      if (this.store.user(username)) throw new HttpError(400, { username: ['A user with that username already exists.'] });
      const user = this.store.addUser({ username });
      this.applyUser(user, body);
      return json(201, this.store.serializeUser(user));
    }
    const target = this.store.userById(id);
    if (!target) throw new HttpError(404, { detail: 'Not found.' });
    if (method === 'GET') return json(200, this.store.serializeUser(target));
    if (method === 'DELETE') {
      this.store.removeUser(target);
      return { status: 204, body: '' };
    }
    if (method === 'PATCH' || method === 'PUT') {
      const body = await readJson(req);
      guardPrivileged(actor, body, target);
      if (typeof body.username === 'string' && body.username !== target.username && this.store.user(body.username)) {
        throw new HttpError(400, { username: ['A user with that username already exists.'] });
      }
      this.applyUser(target, body);
      return json(200, this.store.serializeUser(target));
    }
    throw new HttpError(405, { detail: `Method "${method}" not allowed.` });
  }

  private applyUser(user: SimUser, body: Record<string, unknown>): void {
    for (const key of ['username', 'email', 'first_name', 'last_name'] as const) if (typeof body[key] === 'string') user[key] = body[key];
    for (const key of ['is_staff', 'is_active', 'is_superuser'] as const) if (typeof body[key] === 'boolean') user[key] = body[key];
    if (typeof body.password === 'string' && !/^\*+$/.test(body.password)) user.password = body.password;
    if (Array.isArray(body.groups)) {
      for (const gid of body.groups) {
        if (!this.store.groups.some((g) => g.id === gid)) throw new HttpError(400, { groups: [`Invalid pk "${String(gid)}" - object does not exist.`] });
      }
      user.groups = body.groups as number[];
    }
    if (Array.isArray(body.user_permissions)) {
      for (const p of body.user_permissions) if (!codenamesOf(this.settings.line).includes(p as string)) throw new HttpError(400, { user_permissions: [`Object with codename=${String(p)} does not exist.`] });
      user.user_permissions = body.user_permissions as string[];
    }
  }

  private async groups(req: http.IncomingMessage, url: URL, actor: SimUser, id: number | undefined): Promise<Answer> {
    const method = req.method ?? 'GET';
    this.checkModelPermission(actor, method, 'group');
    if (id === undefined && method === 'GET') return json(200, paginate(filter(this.store.groups, 'name', url), url, req, this.settings.maxPageSize, (g) => ({ ...g })));
    if (id === undefined && method === 'POST') {
      const body = await readJson(req);
      if (typeof body.name !== 'string' || body.name === '') throw new HttpError(400, { name: ['This field is required.'] });
      if (this.store.groups.some((g) => g.name === body.name)) throw new HttpError(400, { name: ['group with this name already exists.'] });
      return json(201, { ...this.store.addGroup(body.name, validPermissions(body.permissions, this.settings.line)) });
    }
    const group: SimGroup | undefined = this.store.groups.find((g) => g.id === id);
    if (!group) throw new HttpError(404, { detail: 'Not found.' });
    if (method === 'GET') return json(200, { ...group });
    if (method === 'DELETE') {
      this.store.removeGroup(group);
      return { status: 204, body: '' };
    }
    const body = await readJson(req);
    if (typeof body.name === 'string') group.name = body.name;
    if (body.permissions !== undefined) group.permissions = validPermissions(body.permissions, this.settings.line);
    return json(200, { ...group });
  }
}

/** The fields of Paperless's DocumentSerializer the tests read; owner is the user's id. */
function serializeDocument(d: SimDocument) {
  return { id: d.id, title: d.title, owner: d.owner };
}

/** Only a superuser may grant staff/superuser or touch another superuser (plain-text 403 otherwise). */
function guardPrivileged(actor: SimUser, body: Record<string, unknown>, target: SimUser | undefined): void {
  if (actor.is_superuser) return;
  if ('is_staff' in body || 'is_superuser' in body || target?.is_superuser) {
    throw new HttpError(403, 'Superuser status can only be changed by a superuser');
  }
}

function validPermissions(value: unknown, line: 2 | 3): string[] {
  if (value === undefined) throw new HttpError(400, { permissions: ['This field is required.'] });
  if (!Array.isArray(value)) throw new HttpError(400, { permissions: ['Expected a list of items.'] });
  for (const p of value) if (!codenamesOf(line).includes(p as string)) throw new HttpError(400, { permissions: [`Object with codename=${String(p)} does not exist.`] });
  return value as string[];
}

/** django-filter lookups; a plain `?username=` is silently ignored, as in Paperless. */
function filter<T extends object>(items: T[], field: string, url: URL): T[] {
  let out = items;
  const iexact = url.searchParams.get(`${field}__iexact`);
  const istarts = url.searchParams.get(`${field}__istartswith`);
  const icontains = url.searchParams.get(`${field}__icontains`);
  const lower = (i: T) => String((i as Record<string, unknown>)[field]).toLowerCase();
  if (iexact !== null) out = out.filter((i) => lower(i) === iexact.toLowerCase());
  if (istarts !== null) out = out.filter((i) => lower(i).startsWith(istarts.toLowerCase()));
  if (icontains !== null) out = out.filter((i) => lower(i).includes(icontains.toLowerCase()));
  return out;
}
