/**
 * Paperless's Django application for plain HTTP: middleware (remote user, API version, CSRF),
 * then its routes: share links, the three logout views, /api/token/, the REST API and the UI.
 */
import type http from 'node:http';
import { adminRoute, checkApiVersion, djangoQuote, isApi, parseCookies, routedPath, versionHeaders } from './django-parsing.js';
import type { Auth, DjangoAuth } from './django-auth.js';
import type { Outcome } from './handler.js';
import { type Answer, HttpError, json, readBody, redirect, send } from './http.js';
import type { Settings } from './options.js';
import { qualified } from './permissions.js';
import type { RestApi } from './rest-api.js';
import type { SimStore } from './store.js';
import { uiPage } from './ui-page.js';

/** allauth headless's answer when nobody is signed in. */
const HEADLESS_SIGNED_OUT = { status: 401, data: { flows: [{ id: 'login' }] }, meta: { is_authenticated: false } };

/** 3.x's POST /api/token/ rate (PAPERLESS_TOKEN_THROTTLE_RATE, default 5/m). */
const TOKEN_THROTTLE = { requests: 5, windowMs: 60_000 };

export class DjangoApp {
  /** DRF's ScopedRateThrottle history for /api/token/, per client address. */
  private readonly tokenTries = new Map<string, number[]>();

  constructor(
    private readonly store: SimStore,
    private readonly settings: Settings,
    private readonly auth: DjangoAuth,
    private readonly api: RestApi,
  ) {}

  readonly handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<Outcome> => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const cookies = parseCookies(req.headers.cookie ?? '');
    let setCookies: string[] = [];
    let user: string | undefined;
    let answer: Answer;
    try {
      const auth = this.auth.authenticate(req, url.pathname, cookies);
      setCookies = auth.setCookies;
      user = auth.user?.username;
      if (isApi(url.pathname)) checkApiVersion(req, this.settings.line);
      const unsafe = !['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? 'GET');
      if (unsafe && auth.via === 'session') this.auth.checkCsrf(req, cookies);
      const routed = await this.route(req, url, auth, cookies);
      answer = { ...routed, cookies: [...setCookies, ...(routed.cookies ?? [])] };
    } catch (err) {
      if (!(err instanceof HttpError)) {
        send(res, { status: 500, body: { detail: String(err) } });
        return { status: 500, user };
      }
      answer = { status: err.status, body: err.body, headers: err.headers, cookies: setCookies };
    }
    send(res, { ...answer, headers: { ...answer.headers, ...versionHeaders(user !== undefined, this.settings.line) } });
    return { status: answer.status, user };
  };

  private async route(req: http.IncomingMessage, url: URL, auth: Auth, cookies: Record<string, string | undefined>): Promise<Answer> {
    const path = url.pathname;
    const method = req.method ?? 'GET';

    const share = /^\/share\/(\w+)\/?$/.exec(path);
    if (share) {
      const slug = share[1] as string;
      const expired = this.store.shareLinks.get(slug);
      if (expired === undefined) return redirect('/accounts/login/?sharelink_notfound=1');
      if (expired) return redirect('/accounts/login/?sharelink_expired=1');
      return { status: 200, body: `shared document ${slug}`, headers: { 'Content-Type': 'text/plain' } };
    }

    // Routing reads the decoded path, as Django's resolver does (contract §9).
    const routed = routedPath(path);
    // allauth's logout at /accounts/logout/ and /api/auth/logout/, with ACCOUNT_LOGOUT_ON_GET:
    // GET and HEAD sign out as POST does (CSRF checked with every unsafe session request above).
    if ((routed === '/accounts/logout/' || routed === '/api/auth/logout/') && ['GET', 'HEAD', 'POST'].includes(method)) {
      this.logout(cookies);
      return redirect(url.searchParams.get('next') ?? this.settings.logoutRedirectUrl, [this.auth.clearSession()]);
    }
    // Django admin's LogoutView: POST only; a user who is not staff is sent to the admin's login.
    if (adminRoute(routed) === 'logout/' && method === 'POST') {
      if (!auth.user?.is_staff) return redirect('/admin/');
      this.logout(cookies);
      return redirect(this.settings.logoutRedirectUrl, [this.auth.clearSession()]);
    }

    // 3.x: django-allauth's headless API; DELETE on the session is its logout (contract §8).
    if (this.settings.line === 3 && routed === '/api/auth/headless/browser/v1/auth/session') {
      if (method === 'DELETE') {
        this.logout(cookies);
        return { ...json(401, HEADLESS_SIGNED_OUT), cookies: [this.auth.clearSession()] };
      }
      if (!auth.user) return json(401, HEADLESS_SIGNED_OUT);
      return json(200, { status: 200, data: { user: { username: auth.user.username } }, meta: { is_authenticated: true } });
    }
    if (this.settings.line === 3 && routed === '/api/auth/headless/app/v1/auth/session' && method === 'DELETE') {
      return json(401, HEADLESS_SIGNED_OUT);
    }

    if (path === '/api/token/' && method === 'POST') {
      if (this.settings.line === 3) this.throttleToken(req, auth);
      const body = await readBody(req);
      const form = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(body || '{}') as Record<string, string>) : Object.fromEntries(new URLSearchParams(body));
      const user = this.store.user(form.username ?? '');
      if (!user || !user.is_active || !user.password || user.password !== form.password) {
        throw new HttpError(400, { non_field_errors: ['Unable to log in with provided credentials.'] });
      }
      return json(200, { token: this.store.tokenFor(user.username) });
    }

    if (isApi(path)) {
      if (!auth.user) throw new HttpError(403, { detail: 'Authentication credentials were not provided.' });
      return this.api.answer(req, url, auth.user);
    }

    // The Angular UI: every other path returns the index for a logged-in user.
    if (!auth.user) return redirect(`/accounts/login/?next=${djangoQuote(req.url ?? '/')}`);
    const permissions = auth.user.is_superuser ? ['all (superuser)'] : [...this.store.permissionsOf(auth.user)].map(qualified).sort();
    return {
      status: 200,
      body: uiPage(auth.user, this.store.groupNamesOf(auth.user), permissions, path, this.auth.cookie('csrftoken')),
      headers: { 'Content-Type': 'text/html; charset=utf-8' },
    };
  }

  /**
   * DRF's ScopedRateThrottle as 3.x sets it on /api/token/: keyed by the user when a session
   * authenticated, otherwise by X-Forwarded-For with its whitespace removed, or the peer address.
   */
  private throttleToken(req: http.IncomingMessage, auth: Auth): void {
    const xff = req.headers['x-forwarded-for'];
    const ident = auth.user ? `user:${auth.user.id}` : typeof xff === 'string' && xff !== '' ? xff.replace(/\s/g, '') : (req.socket.remoteAddress ?? '');
    const now = Date.now();
    const history = (this.tokenTries.get(ident) ?? []).filter((t) => t > now - TOKEN_THROTTLE.windowMs);
    if (history.length >= TOKEN_THROTTLE.requests) {
      const wait = Math.ceil((TOKEN_THROTTLE.windowMs - (now - (history[0] as number))) / 1000);
      throw new HttpError(429, { detail: `Request was throttled. Expected available in ${wait} second${wait === 1 ? '' : 's'}.` }, { 'Retry-After': String(wait) });
    }
    this.tokenTries.set(ident, [...history, now]);
  }

  private logout(cookies: Record<string, string | undefined>): void {
    const sid = cookies[this.auth.cookie('sessionid')];
    if (sid) this.store.sessions.delete(sid);
  }
}
