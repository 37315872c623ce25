/**
 * A Paperless-ngx simulator that follows ../../../shared/paperless-contract.md:
 * Django's header mapping and persistent remote-user middleware, case-sensitive
 * auto-create, CSRF origin + token rule, cookie-only /ws/status/, logout flush,
 * users/groups API with pagination and __iexact filters, token auth and the
 * 401/403 shapes. Every request is recorded so tests can assert what reached it.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { documentBytes } from './multipart.js';
import type { UpstreamUser } from './upstream.js';

export interface SimUser extends UpstreamUser {
  password: string;
  date_joined: string;
}

export interface SimGroup {
  id: number;
  name: string;
  permissions: string[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  url: string;
  /** Raw header pairs exactly as they arrived. */
  rawHeaders: Array<[string, string]>;
  /** Header value Django would read for the remote-user key (joined with ','), if any. */
  remoteUser: string | undefined;
  cookies: Record<string, string | undefined>;
  /** The user the request was authenticated as, after middleware and API auth. */
  user: string | undefined;
  status?: number;
}

export interface SimOptions {
  /** Django META key, e.g. HTTP_REMOTE_USER (PAPERLESS_HTTP_REMOTE_USER_HEADER_NAME). */
  remoteUserKey?: string;
  enableRemoteUser?: boolean;
  enableRemoteUserApi?: boolean;
  cookiePrefix?: string;
  /** PAPERLESS_URL: added to CSRF trusted origins. */
  paperlessUrl?: string;
  /** PAPERLESS_PROXY_SSL_HEADER set to X-Forwarded-Proto: https. */
  trustForwardedProto?: boolean;
  logoutRedirectUrl?: string;
  /** DRF's max_page_size (Paperless: 100000); lower it to make clients follow `next`. */
  maxPageSize?: number;
}

interface SimSession {
  userId: number;
}

interface Auth {
  user?: SimUser;
  /** How the request authenticated: DRF skips CSRF for everything but session auth. */
  via?: 'session' | 'token' | 'remote-user';
  setCookies: string[];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

const MODELS = [
  'document', 'tag', 'correspondent', 'documenttype', 'storagepath', 'savedview', 'paperlesstask',
  'applicationconfiguration', 'uisettings', 'logentry', 'note', 'mailaccount', 'mailrule', 'user', 'group',
  'sharelink', 'customfield', 'workflow', 'processedmail',
];
export const ALL_CODENAMES = MODELS.flatMap((m) => ['add', 'change', 'delete', 'view'].map((a) => `${a}_${m}`));
const APP_OF: Record<string, string> = { user: 'auth', group: 'auth', logentry: 'auditlog', mailaccount: 'paperless_mail', mailrule: 'paperless_mail', processedmail: 'paperless_mail', applicationconfiguration: 'paperless' };

function djangoKey(name: string): string {
  return `HTTP_${name.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * The Angular UI's stand-in, the same page the Django upstream serves: it says who Paperless
 * thinks you are, opens /ws/status/ with the page's cookies (Paperless sends nothing on
 * connect, only status updates), uploads with fetch sending the csrftoken cookie back as
 * X-CSRFToken, and signs out through /accounts/logout/.
 */
function uiPage(user: { username: string; is_superuser: boolean; is_staff: boolean }, groups: string[], permissions: string[], path: string, csrfCookie: string): string {
  const script = `
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/status/');
    ws.onopen = () => { document.getElementById('ws').textContent = 'connected'; };
    ws.onclose = () => { document.getElementById('ws').textContent = 'closed'; };
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data).data;
      document.getElementById('status').textContent = data.status + (data.document_id ? ' document ' + data.document_id : '');
    };
    document.getElementById('upload').addEventListener('click', async () => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith(${JSON.stringify(`${csrfCookie}=`)}))?.split('=')[1] ?? '';
      const body = new FormData();
      body.append('document', document.getElementById('file').files[0]);
      const res = await fetch('/api/documents/post_document/', { method: 'POST', body, headers: { 'X-CSRFToken': csrf } });
      document.getElementById('upload-result').textContent = res.status + ' ' + (await res.text());
    });`;
  const yesNo = (b: boolean) => (b ? 'yes' : 'no');
  return `<!doctype html><html lang="en"><head><title>Paperless-ngx</title></head><body>
<h1>Paperless-ngx (simulator)</h1><dl>
<dt>User</dt><dd id="user">${escapeHtml(user.username)}</dd>
<dt>Superuser</dt><dd id="superuser">${yesNo(user.is_superuser)}</dd><dt>Staff (Admin)</dt><dd id="staff">${yesNo(user.is_staff)}</dd>
<dt>Groups</dt><dd id="groups">${escapeHtml(groups.join(', ') || 'none')}</dd>
<dt>Permissions</dt><dd id="permissions">${escapeHtml(permissions.join(' ') || 'none')}</dd>
<dt>Path</dt><dd id="path">${escapeHtml(path)}</dd><dt>Status websocket</dt><dd id="ws">connecting</dd>
<dt>Last status message</dt><dd id="status">none</dd></dl>
<input id="file" type="file" aria-label="Document"><button id="upload" type="button">Upload</button><p id="upload-result"></p>
<a id="logout" href="/accounts/logout/">Logout</a>
<script>${script}</script></body></html>`;
}

export class PaperlessSim {
  readonly options: Required<SimOptions>;
  users: SimUser[] = [];
  groups: SimGroup[] = [];
  readonly sessions = new Map<string, SimSession>();
  readonly tokens = new Map<string, number>();
  readonly requests: RecordedRequest[] = [];
  readonly uploads: Array<{ user: string; bytes: number }> = [];
  /** Share-link slugs and whether each has expired. */
  readonly shareLinks = new Map<string, boolean>();
  readonly sockets = new Set<WebSocket>();
  /** The user each open /ws/status/ socket belongs to: status messages go to owners and superusers. */
  private readonly socketUsers = new Map<WebSocket, SimUser>();
  /** Denied websocket handshakes, held open without an answer as granian holds them. */
  private readonly unanswered = new Set<Socket>();
  /** Forced answer for every request, to simulate outages. */
  failWith?: { status: number; body: unknown };
  /** Delay before answering, to simulate a slow Paperless. */
  delayMs = 0;
  /** Set-Cookie lines added to every accepted websocket handshake (fault injection). */
  upgradeSetCookies: string[] = [];
  /** While set, uploads wait here before their body is read (a Paperless that stops reading). */
  private uploadsHeld?: Promise<void>;
  private nextUserId = 1;
  private nextGroupId = 1;
  private server?: http.Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  port = 0;

  constructor(options: SimOptions = {}) {
    this.options = {
      remoteUserKey: 'HTTP_REMOTE_USER',
      enableRemoteUser: true,
      enableRemoteUserApi: false,
      cookiePrefix: '',
      paperlessUrl: '',
      trustForwardedProto: false,
      logoutRedirectUrl: '/accounts/login/?loggedout=1',
      maxPageSize: 100000,
      ...options,
    };
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req, socket: Socket, head) => this.upgrade(req, socket, head));
    if (this.wss.listenerCount('headers') === 0) this.wss.on('headers', (headers: string[]) => headers.push(...this.upgradeSetCookies.map((c) => `Set-Cookie: ${c}`)));
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.socketUsers.clear();
    for (const socket of this.unanswered) socket.destroy();
    const srv = this.server;
    if (!srv) return;
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    this.server = undefined;
  }

  // ---- data helpers for tests ----

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

  user(username: string): SimUser | undefined {
    return this.users.find((u) => u.username === username);
  }

  tokenFor(username: string): string {
    const user = this.user(username) ?? this.addUser({ username });
    for (const [key, id] of this.tokens) if (id === user.id) return key;
    const key = randomBytes(20).toString('hex');
    this.tokens.set(key, user.id);
    return key;
  }

  addShareLink(slug: string, expired = false): void {
    this.shareLinks.set(slug, expired);
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** Websocket handshakes held open without an answer (denied ones, as granian holds them). */
  get pendingHandshakes(): number {
    return this.unanswered.size;
  }

  /** Uploads stop being read until the returned function is called (fault injection: backpressure). */
  holdUploads(): () => void {
    let release = () => undefined as void;
    this.uploadsHeld = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.uploadsHeld = undefined;
      release();
    };
  }

  /** Sends a raw message to every socket (fault injection; Paperless itself sends status_update). */
  broadcast(message: unknown): void {
    for (const ws of this.sockets) ws.send(JSON.stringify(message));
  }

  /** Paperless's status_update about a document `owner` owns: its owner and superusers see it. */
  statusUpdate(owner: SimUser, data: Record<string, unknown>): void {
    const message = JSON.stringify({
      type: 'status_update',
      data: { max_progress: 100, ...data, owner_id: owner.id, users_can_view: [], groups_can_view: [] },
    });
    for (const [ws, user] of this.socketUsers) if (user.is_superuser || user.id === owner.id) ws.send(message);
  }

  // ---- Django-ish request processing ----

  private cookie(name: string): string {
    return `${this.options.cookiePrefix}${name}`;
  }

  /** What Django puts in META[key]: every header whose mapped name matches, joined with ','. */
  private remoteUserValue(req: http.IncomingMessage): string | undefined {
    const values: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (djangoKey(req.rawHeaders[i] as string) === this.options.remoteUserKey) values.push(req.rawHeaders[i + 1] as string);
    }
    return values.length ? values.join(',') : undefined;
  }

  private permissionsOf(user: SimUser): Set<string> {
    const perms = new Set(user.user_permissions);
    for (const gid of user.groups) for (const p of this.groups.find((g) => g.id === gid)?.permissions ?? []) perms.add(p);
    return perms;
  }

  private has(user: SimUser, codename: string): boolean {
    return user.is_active && (user.is_superuser || this.permissionsOf(user).has(codename));
  }

  private newSession(user: SimUser, auth: Auth): void {
    const sid = randomBytes(16).toString('hex');
    this.sessions.set(sid, { userId: user.id });
    auth.setCookies.push(`${this.cookie('sessionid')}=${sid}; HttpOnly; Max-Age=1814400; Path=/; SameSite=Lax`);
    auth.setCookies.push(`${this.cookie('csrftoken')}=${randomBytes(16).toString('hex')}; Max-Age=31449600; Path=/; SameSite=Lax`);
  }

  /** PersistentRemoteUserMiddleware + RemoteUserBackend(create_unknown_user=True). */
  private remoteUserMiddleware(req: http.IncomingMessage, sessionId: string | undefined, auth: Auth): void {
    const header = this.remoteUserValue(req);
    const session = sessionId ? this.sessions.get(sessionId) : undefined;
    if (header === undefined) return; // persistent: the session stays
    const current = session ? this.users.find((u) => u.id === session.userId) : undefined;
    if (current && current.username === header) return;
    if (current && sessionId) this.sessions.delete(sessionId); // another user: log the old one out
    auth.user = undefined;
    if (header === '') return;
    let user = this.user(header); // case-sensitive, like Django's username lookup
    if (!user) user = this.addUser({ username: header });
    if (!user.is_active) return;
    this.newSession(user, auth);
    auth.user = user;
    auth.via = 'remote-user';
  }

  private authenticate(req: http.IncomingMessage, path: string, cookies: Record<string, string | undefined>): Auth {
    const auth: Auth = { setCookies: [] };
    const sessionId = cookies[this.cookie('sessionid')];
    const session = sessionId ? this.sessions.get(sessionId) : undefined;
    const sessionUser = session ? this.users.find((u) => u.id === session.userId && u.is_active) : undefined;
    if (sessionUser) {
      auth.user = sessionUser;
      auth.via = 'session';
    }
    const isApi = path.includes('/api/');
    if ((!isApi && this.options.enableRemoteUser) || (isApi && this.options.enableRemoteUserApi)) {
      this.remoteUserMiddleware(req, sessionId, auth);
    }
    if (isApi) {
      // DRF tries Paperless's classes in order (the header class first in API mode, then
      // session, Basic, token) and the first that recognises the request wins.
      if (auth.via === 'remote-user' || auth.via === 'session') return auth;
      // DRF splits Authorization on ASCII whitespace only (bytes.split()).
      const parts = (req.headers.authorization ?? '').split(/[ \t\n\r\v\f]+/).filter(Boolean);
      const scheme = parts[0]?.toLowerCase();
      if (scheme === 'basic' || scheme === 'token') {
        // DRF answers 403, not 401: Paperless lists SessionAuthentication first, which has no WWW-Authenticate.
        if (parts.length === 1) throw new HttpError(403, { detail: `Invalid ${scheme} header. No credentials provided.` });
        if (parts.length > 2) throw new HttpError(403, { detail: scheme === 'token' ? 'Invalid token header. Token string should not contain spaces.' : 'Invalid basic header. Credentials string should not contain spaces.' });
        const user = scheme === 'token' ? this.userByToken(parts[1] as string) : this.userByBasic(parts[1] as string);
        auth.user = user;
        auth.via = 'token';
      }
    }
    return auth;
  }

  private userByToken(key: string): SimUser {
    const user = this.users.find((u) => u.id === this.tokens.get(key));
    if (!user) throw new HttpError(403, { detail: 'Invalid token.' });
    if (!user.is_active) throw new HttpError(403, { detail: 'User inactive or deleted.' });
    return user;
  }

  /** DRF's BasicAuthentication: Paperless's local password. */
  private userByBasic(encoded: string): SimUser {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? undefined : this.user(decoded.slice(0, colon));
    if (!user || !user.password || user.password !== decoded.slice(colon + 1)) throw new HttpError(403, { detail: 'Invalid username/password.' });
    if (!user.is_active) throw new HttpError(403, { detail: 'User inactive or deleted.' });
    return user;
  }

  /** Django's CSRF check, for unsafe requests authenticated by the session. */
  private checkCsrf(req: http.IncomingMessage, cookies: Record<string, string | undefined>): void {
    const secure = this.options.trustForwardedProto && req.headers['x-forwarded-proto'] === 'https';
    // Django compares against Host (PAPERLESS_USE_X_FORWARD_HOST is off by default).
    const expectedOrigin = `${secure ? 'https' : 'http'}://${req.headers.host}`;
    const origin = req.headers.origin;
    const trusted = [expectedOrigin, ...(this.options.paperlessUrl ? [new URL(this.options.paperlessUrl).origin] : [])];
    if (origin !== undefined) {
      if (!trusted.includes(origin)) throw new HttpError(403, { detail: `CSRF Failed: Origin checking failed - ${origin} does not match any trusted origins.` });
    } else if (secure) {
      const referer = req.headers.referer;
      if (!referer || !trusted.includes(new URL(referer).origin)) throw new HttpError(403, { detail: 'CSRF Failed: Referer checking failed - no Referer.' });
    }
    const cookieToken = cookies[this.cookie('csrftoken')];
    if (!cookieToken) throw new HttpError(403, { detail: 'CSRF Failed: CSRF cookie not set.' });
    if (req.headers['x-csrftoken'] !== cookieToken) throw new HttpError(403, { detail: 'CSRF Failed: CSRF token incorrect.' });
  }

  /** Logs a request exactly as it arrived, before anything interprets it. */
  private record(req: http.IncomingMessage) {
    const url = new URL(req.url ?? '/', 'http://sim');
    const cookies = parseCookies(req.headers.cookie ?? '');
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      url: req.url ?? '/',
      rawHeaders: pairs(req.rawHeaders),
      remoteUser: this.remoteUserValue(req),
      cookies,
      user: undefined,
    };
    this.requests.push(record);
    return { url, cookies, record };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { url, cookies, record } = this.record(req);
    let setCookies: string[] = [];
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.failWith) throw new HttpError(this.failWith.status, this.failWith.body);
      const auth = this.authenticate(req, url.pathname, cookies);
      setCookies = auth.setCookies;
      record.user = auth.user?.username;
      if (url.pathname.includes('/api/')) checkApiVersion(req);
      const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? 'GET');
      if (unsafe && auth.via === 'session') this.checkCsrf(req, cookies);
      const result = await this.route(req, url, auth, cookies);
      record.status = result.status;
      send(res, result.status, result.body, { ...result.headers, ...versionHeaders(record) }, [...setCookies, ...(result.cookies ?? [])]);
    } catch (err) {
      if (err instanceof HttpError) {
        record.status = err.status;
        send(res, err.status, err.body, { ...err.headers, ...versionHeaders(record) }, setCookies);
      } else {
        record.status = 500;
        send(res, 500, { detail: String(err) }, {}, []);
      }
    }
  }

  private async route(
    req: http.IncomingMessage,
    url: URL,
    auth: Auth,
    cookies: Record<string, string | undefined>,
  ): Promise<{ status: number; body: unknown; headers?: Record<string, string>; cookies?: string[] }> {
    const path = url.pathname;
    const method = req.method ?? 'GET';

    const share = /^\/share\/(\w+)\/?$/.exec(path);
    if (share) {
      const slug = share[1] as string;
      const expired = this.shareLinks.get(slug);
      if (expired === undefined) return { status: 302, body: '', headers: { Location: '/accounts/login/?sharelink_notfound=1' } };
      if (expired) return { status: 302, body: '', headers: { Location: '/accounts/login/?sharelink_expired=1' } };
      return { status: 200, body: `shared document ${slug}`, headers: { 'Content-Type': 'text/plain' } };
    }

    // Django's LogoutView behind Django admin and DRF's browsable API: POST only (CSRF checked
    // with every unsafe session request above); admin sends a user who is not staff to /admin/.
    if ((path === '/api/auth/logout/' || path === '/admin/logout/') && method === 'POST') {
      if (path === '/admin/logout/' && !auth.user?.is_staff) return { status: 302, body: '', headers: { Location: '/admin/' } };
      const sid = cookies[this.cookie('sessionid')];
      if (sid) this.sessions.delete(sid);
      return { status: 302, body: '', headers: { Location: this.options.logoutRedirectUrl }, cookies: [`${this.cookie('sessionid')}=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/`] };
    }

    if (path === '/accounts/logout/') {
      const sid = cookies[this.cookie('sessionid')];
      if (sid) this.sessions.delete(sid);
      const next = url.searchParams.get('next') ?? this.options.logoutRedirectUrl;
      return { status: 302, body: '', headers: { Location: next }, cookies: [`${this.cookie('sessionid')}=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/`] };
    }

    if (path === '/api/token/' && method === 'POST') {
      const body = await readBody(req);
      const form = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(body || '{}') as Record<string, string>) : Object.fromEntries(new URLSearchParams(body));
      const user = this.user(form.username ?? '');
      if (!user || !user.is_active || !user.password || user.password !== form.password) {
        throw new HttpError(400, { non_field_errors: ['Unable to log in with provided credentials.'] });
      }
      return json(200, { token: this.tokenFor(user.username) });
    }

    if (path.includes('/api/')) {
      if (!auth.user) throw new HttpError(403, { detail: 'Authentication credentials were not provided.' });
      return this.api(req, url, auth.user);
    }

    // The Angular UI: every other path returns the index for a logged-in user.
    if (!auth.user) return { status: 302, body: '', headers: { Location: `/accounts/login/?next=${djangoQuote(req.url ?? '/')}` } };
    return {
      status: 200,
      body: uiPage(
        auth.user,
        this.groups.filter((g) => auth.user?.groups.includes(g.id)).map((g) => g.name).sort(),
        auth.user.is_superuser ? ['all (superuser)'] : [...this.permissionsOf(auth.user)].map((p) => `${APP_OF[p.slice(p.indexOf('_') + 1)] ?? 'documents'}.${p}`).sort(),
        path,
        this.cookie('csrftoken'),
      ),
      headers: { 'Content-Type': 'text/html; charset=utf-8' },
    };
  }

  private async api(req: http.IncomingMessage, url: URL, user: SimUser) {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const forbidden = () => new HttpError(403, { detail: 'You do not have permission to perform this action.' });
    const need = (codename: string) => {
      if (!this.has(user, codename)) throw forbidden();
    };

    if (path === '/api/ui_settings/') {
      need('view_uisettings');
      return json(200, { user: { id: user.id, username: user.username, is_staff: user.is_staff, is_superuser: user.is_superuser }, settings: {}, permissions: [...this.permissionsOf(user)] });
    }
    if (path === '/api/profile/') {
      const token = [...this.tokens].find(([, id]) => id === user.id)?.[0] ?? null;
      return json(200, { email: user.email, first_name: user.first_name, last_name: user.last_name, auth_token: token, has_usable_password: Boolean(user.password) });
    }
    if (path === '/api/profile/generate_auth_token/' && method === 'POST') {
      for (const [key, id] of this.tokens) if (id === user.id) this.tokens.delete(key);
      return json(200, this.tokenFor(user.username));
    }
    if (path === '/api/documents/post_document/' && method === 'POST') {
      need('add_document');
      await this.uploadsHeld;
      const bytes = await documentBytes(req);
      if (bytes === undefined) throw new HttpError(400, { document: ['No file was submitted.'] });
      this.uploads.push({ user: user.username, bytes });
      const taskId = randomBytes(16).toString('hex');
      const about = { task_id: taskId, filename: 'upload', document_id: null };
      this.statusUpdate(user, { ...about, status: 'STARTED', current_progress: 0, message: 'new_file' });
      this.statusUpdate(user, { ...about, status: 'WORKING', current_progress: 50, message: 'parsing_document' });
      this.statusUpdate(user, { ...about, status: 'SUCCESS', current_progress: 100, message: 'finished', document_id: this.uploads.length });
      return json(200, taskId);
    }
    if (path === '/api/documents/' && method === 'GET') {
      need('view_document');
      return json(200, { count: 0, next: null, previous: null, all: [], results: [] });
    }
    const users = /^\/api\/users\/(?:(\d+)\/)?$/.exec(path);
    if (users) return this.usersApi(req, url, user, users[1] === undefined ? undefined : Number(users[1]));
    const groups = /^\/api\/groups\/(?:(\d+)\/)?$/.exec(path);
    if (groups) return this.groupsApi(req, url, user, groups[1] === undefined ? undefined : Number(groups[1]));
    throw new HttpError(404, { detail: 'Not found.' });
  }

  private checkModelPermission(user: SimUser, method: string, model: string): void {
    const action = method === 'GET' ? 'view' : method === 'POST' ? 'add' : method === 'DELETE' ? 'delete' : 'change';
    if (!this.has(user, `${action}_${model}`)) throw new HttpError(403, { detail: 'You do not have permission to perform this action.' });
  }

  private async usersApi(req: http.IncomingMessage, url: URL, actor: SimUser, id: number | undefined) {
    const method = req.method ?? 'GET';
    this.checkModelPermission(actor, method, 'user');
    if (id === undefined && method === 'GET') {
      return json(200, paginate(this.filter(this.users, 'username', url), url, req, this.options.maxPageSize, (u) => this.serializeUser(u)));
    }
    if (id === undefined && method === 'POST') {
      const body = await readJson(req);
      this.guardPrivileged(actor, body, undefined);
      const username = body.username;
      if (typeof username !== 'string' || username === '') throw new HttpError(400, { username: ['This field is required.'] });
      if (this.user(username)) throw new HttpError(400, { username: ['A user with that username already exists.'] });
      const user = this.addUser({ username });
      this.applyUser(user, body);
      return json(201, this.serializeUser(user));
    }
    const target = this.users.find((u) => u.id === id);
    if (!target) throw new HttpError(404, { detail: 'Not found.' });
    if (method === 'GET') return json(200, this.serializeUser(target));
    if (method === 'DELETE') {
      this.users = this.users.filter((u) => u !== target);
      return { status: 204, body: '' };
    }
    if (method === 'PATCH' || method === 'PUT') {
      const body = await readJson(req);
      this.guardPrivileged(actor, body, target);
      if (typeof body.username === 'string' && body.username !== target.username && this.user(body.username)) {
        throw new HttpError(400, { username: ['A user with that username already exists.'] });
      }
      this.applyUser(target, body);
      return json(200, this.serializeUser(target));
    }
    throw new HttpError(405, { detail: `Method "${method}" not allowed.` });
  }

  /** Only a superuser may grant staff/superuser or touch another superuser (plain-text 403 otherwise). */
  private guardPrivileged(actor: SimUser, body: Record<string, unknown>, target: SimUser | undefined): void {
    if (actor.is_superuser) return;
    if ('is_staff' in body || 'is_superuser' in body || target?.is_superuser) {
      throw new HttpError(403, 'Superuser status can only be changed by a superuser');
    }
  }

  private applyUser(user: SimUser, body: Record<string, unknown>): void {
    for (const key of ['username', 'email', 'first_name', 'last_name'] as const) if (typeof body[key] === 'string') user[key] = body[key];
    for (const key of ['is_staff', 'is_active', 'is_superuser'] as const) if (typeof body[key] === 'boolean') user[key] = body[key];
    if (typeof body.password === 'string' && !/^\*+$/.test(body.password)) user.password = body.password;
    if (Array.isArray(body.groups)) {
      for (const gid of body.groups) {
        if (!this.groups.some((g) => g.id === gid)) throw new HttpError(400, { groups: [`Invalid pk "${String(gid)}" - object does not exist.`] });
      }
      user.groups = body.groups as number[];
    }
    if (Array.isArray(body.user_permissions)) {
      for (const p of body.user_permissions) if (!ALL_CODENAMES.includes(p as string)) throw new HttpError(400, { user_permissions: [`Object with codename=${String(p)} does not exist.`] });
      user.user_permissions = body.user_permissions as string[];
    }
  }

  serializeUser(u: SimUser) {
    const inherited = new Set<string>();
    for (const gid of u.groups) {
      for (const p of this.groups.find((g) => g.id === gid)?.permissions ?? []) {
        const model = p.slice(p.indexOf('_') + 1);
        inherited.add(`${APP_OF[model] ?? 'documents'}.${p}`);
      }
    }
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

  private async groupsApi(req: http.IncomingMessage, url: URL, actor: SimUser, id: number | undefined) {
    const method = req.method ?? 'GET';
    this.checkModelPermission(actor, method, 'group');
    if (id === undefined && method === 'GET') return json(200, paginate(this.filter(this.groups, 'name', url), url, req, this.options.maxPageSize, (g) => ({ ...g })));
    if (id === undefined && method === 'POST') {
      const body = await readJson(req);
      if (typeof body.name !== 'string' || body.name === '') throw new HttpError(400, { name: ['This field is required.'] });
      if (this.groups.some((g) => g.name === body.name)) throw new HttpError(400, { name: ['group with this name already exists.'] });
      const permissions = this.validPermissions(body.permissions);
      return json(201, { ...this.addGroup(body.name, permissions) });
    }
    const group = this.groups.find((g) => g.id === id);
    if (!group) throw new HttpError(404, { detail: 'Not found.' });
    if (method === 'GET') return json(200, { ...group });
    if (method === 'DELETE') {
      this.groups = this.groups.filter((g) => g !== group);
      for (const u of this.users) u.groups = u.groups.filter((g) => g !== group.id);
      return { status: 204, body: '' };
    }
    const body = await readJson(req);
    if (typeof body.name === 'string') group.name = body.name;
    if (body.permissions !== undefined) group.permissions = this.validPermissions(body.permissions);
    return json(200, { ...group });
  }

  private validPermissions(value: unknown): string[] {
    if (value === undefined) throw new HttpError(400, { permissions: ['This field is required.'] });
    if (!Array.isArray(value)) throw new HttpError(400, { permissions: ['Expected a list of items.'] });
    for (const p of value) if (!ALL_CODENAMES.includes(p as string)) throw new HttpError(400, { permissions: [`Object with codename=${String(p)} does not exist.`] });
    return value as string[];
  }

  /** django-filter lookups; a plain `?username=` is silently ignored, as in Paperless. */
  private filter<T extends object>(items: T[], field: string, url: URL): T[] {
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

  // ---- websockets ----

  private upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const { url, cookies, record } = this.record(req);
    if (url.pathname !== '/ws/status/') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // Channels' AuthMiddlewareStack: the session cookie only; the header is ignored here.
    const sid = cookies[this.cookie('sessionid')];
    const session = sid ? this.sessions.get(sid) : undefined;
    const user = session ? this.users.find((u) => u.id === session.userId && u.is_active) : undefined;
    record.user = user?.username;
    if (!user) {
      // Channels denies the connection; granian 2.5.4, Paperless's server, then never answers
      // the handshake (granian issue #818: no 403 as the ASGI spec asks). Neither do we.
      record.status = 403;
      this.unanswered.add(socket);
      socket.on('close', () => this.unanswered.delete(socket));
      // The other side leaving ends the wait (the server's sockets are half-open: 'end' comes first).
      socket.on('end', () => socket.destroy());
      return;
    }
    record.status = 101;
    // Paperless says nothing on connect: it only forwards status updates.
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      this.socketUsers.set(ws, user);
      ws.on('close', () => {
        this.sockets.delete(ws);
        this.socketUsers.delete(ws);
      });
    });
  }
}

/** Python's str.strip() over the characters a Latin-1 header can hold. */
function pyStrip(s: string): string {
  return s.replace(/^[\t\n\v\f\r\x1c-\x1f \x85\xa0]+|[\t\n\v\f\r\x1c-\x1f \x85\xa0]+$/g, '');
}

/** Django's parse_cookie: `;`-separated chunks, names and values stripped as Python strips. */
function parseCookies(header: string): Record<string, string | undefined> {
  const out: Record<string, string> = {};
  for (const chunk of header.split(';')) {
    const eq = chunk.indexOf('=');
    const key = pyStrip(eq === -1 ? '' : chunk.slice(0, eq));
    let value = pyStrip(eq === -1 ? chunk : chunk.slice(eq + 1));
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (key || value) out[key] = value;
  }
  return out;
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

/** Paperless's ApiVersionMiddleware: versions on every answer to a signed-in user. */
function versionHeaders(record: RecordedRequest): Record<string, string> {
  return record.user === undefined ? {} : { 'X-Api-Version': '9', 'X-Version': '2.20.15' };
}

/** DRF's AcceptHeaderVersioning with Paperless's ALLOWED_VERSIONS (1 to 9). */
function checkApiVersion(req: http.IncomingMessage): void {
  const version = /(?:^|;)\s*version=([^;,\s]*)/.exec(req.headers.accept ?? '')?.[1];
  if (version !== undefined && !/^[1-9]$/.test(version)) throw new HttpError(406, { detail: 'Invalid version in "Accept" header.' });
}

/** Django's redirect_to_login quotes `next` with urllib's quote(safe='/'). */
function djangoQuote(value: string): string {
  return encodeURIComponent(value).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function json(status: number, body: unknown) {
  return { status, body, headers: { 'Content-Type': 'application/json' } };
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string>, cookies: string[]): void {
  const contentType = headers['Content-Type'] ?? (typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json');
  // DRF renders every JSON response, a bare string (a token, a task id) included, as JSON.
  const text = typeof body === 'string' && !contentType.startsWith('application/json') ? body : JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': contentType, ...(cookies.length ? { 'Set-Cookie': cookies } : {}) });
  res.end(text);
}

function paginate<T, R>(items: T[], url: URL, req: http.IncomingMessage, maxPageSize: number, serialize: (item: T) => R) {
  const pageSize = Math.min(Number(url.searchParams.get('page_size') ?? 25) || 25, maxPageSize);
  const page = Number(url.searchParams.get('page') ?? 1) || 1;
  const pages = Math.max(1, Math.ceil(items.length / pageSize));
  if (page > pages) throw new HttpError(404, { detail: 'Invalid page.' });
  const link = (p: number) => {
    const u = new URL(url.pathname + url.search, `http://${req.headers.host ?? 'localhost'}`);
    u.searchParams.set('page', String(p));
    return u.toString();
  };
  return {
    count: items.length,
    next: page < pages ? link(page + 1) : null,
    previous: page > 1 ? link(page - 1) : null,
    all: items.map((i) => (i as { id: number }).id),
    results: items.slice((page - 1) * pageSize, page * pageSize).map(serialize),
  };
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += (chunk as Buffer).toString();
  return body;
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  try {
    return JSON.parse(text || '{}') as Record<string, unknown>;
  } catch {
    throw new HttpError(400, { detail: 'JSON parse error' });
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
