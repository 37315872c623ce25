/**
 * How Paperless behaves toward the gateway (../shared/paperless-contract.md), without the
 * gateway. Each case runs on the simulator and on the Django upstream (Paperless's own
 * Django, DRF, Channels and allauth): where they differ, the simulator is wrong.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browser } from './support/http-client.js';
import { createUpstream } from './support/stack.js';
import { nextMessage, openSocket } from './support/status-socket.js';
import { upstreamKinds, type Upstream } from './support/upstream.js';

const PAPERLESS_URL = 'https://paperless.example.com';

for (const kind of upstreamKinds()) {
  // Every rule of §7 holds on 3.x too (§8 says so); the cases that differ say which line they are.
  for (const line of [2, 3] as const)
  describe(`Paperless contract, ${line === 2 ? '2.20.15' : '3.0.5'} (${kind})`, () => {
    const up: Upstream = createUpstream(kind, { paperlessUrl: PAPERLESS_URL, line });
    let admin: string;
    before(async () => {
      await up.start();
      await up.addUser({ username: 'root', is_superuser: true, is_staff: true, password: 'root-pass' });
      admin = await up.tokenFor('root');
    });
    after(async () => up.destroy());

    const api = (method: string, path: string, body?: unknown, token = admin, accept = 'application/json; version=9') =>
      new Browser(up.url).request(method, path, {
        headers: [['Authorization', `Token ${token}`], ['Accept', accept], ['Content-Type', 'application/json']],
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const signedIn = async (username: string) => {
      const b = new Browser(up.url);
      const res = await b.get('/', { headers: [['Remote-User', username]] });
      assert.equal(res.status, 200, `${username} signs in by the header`);
      return b;
    };

    it('header login: first sight creates a bare, active user and sets sessionid and csrftoken', async () => {
      const b = new Browser(up.url);
      const res = await b.get('/documents/', { headers: [['Remote-User', 'newbie']] });
      assert.equal(res.status, 200);
      const session = res.setCookies.find((c) => c.startsWith('sessionid='));
      assert.ok(session && b.jar.get('csrftoken'));
      assert.match(session, /HttpOnly/i);
      assert.match(session, /SameSite=Lax/i);
      assert.match(session, /Max-Age=1814400/, 'three weeks (PAPERLESS_SESSION_COOKIE_AGE)');
      assert.doesNotMatch(String(res.setCookies.find((c) => c.startsWith('csrftoken='))), /HttpOnly/i, 'the UI reads csrftoken');
      const u = await up.user('newbie');
      assert.ok(u);
      assert.deepEqual([u.email, u.first_name, u.groups, u.user_permissions, u.is_staff, u.is_superuser, u.is_active], ['', '', [], [], false, false, true]);
      assert.equal((await api('GET', '/api/ui_settings/', undefined, await up.tokenFor('newbie'))).status, 403, 'a bare user cannot load the UI');
    });

    it('anonymous: the UI redirects to its login page, the API answers 403', async () => {
      const page = await new Browser(up.url).get('/documents/');
      assert.equal(page.status, 302);
      assert.equal(page.headers.location, '/accounts/login/?next=/documents/');
      const apiRes = await new Browser(up.url).get('/api/documents/');
      assert.equal(apiRes.status, 403);
      assert.deepEqual(json(apiRes.body), { detail: 'Authentication credentials were not provided.' });
    });

    it('usernames are case-sensitive: Casey and casey are two users', async () => {
      await signedIn('Casey');
      await signedIn('casey');
      const [upper, lower] = [await up.user('Casey'), await up.user('casey')];
      assert.ok(upper && lower);
      assert.notEqual(upper.id, lower.id);
    });

    it('Django joins duplicate spellings of the header with a comma', async () => {
      const mark = await up.mark();
      await new Browser(up.url).get('/', { headers: [['Remote-User', 'evil'], ['remote_user', 'alice']] });
      const [seen] = await up.requestsSince(mark);
      assert.equal(seen?.remoteUser, 'evil,alice');
      assert.equal(seen?.user, 'evil,alice');
      assert.ok(await up.user('evil,alice'));
    });

    it('the session is persistent without the header, and another name switches user with a new session', async () => {
      const b = await signedIn('pat');
      const first = b.jar.get('sessionid') ?? '';
      assert.equal(await up.sessionUser(first), 'pat');
      assert.match((await b.get('/')).body, /id="user">pat</);
      const switched = await b.get('/', { headers: [['Remote-User', 'sam']] });
      assert.match(switched.body, /id="user">sam</);
      assert.notEqual(b.jar.get('sessionid'), first, 'a new session on user switch');
      assert.equal(await up.sessionUser(first), undefined);
    });

    it("cookie names are read with Python's str.strip(): \\x85sessionid and \\xa0sessionid are sessionid", async () => {
      const b = await signedIn('cookie-reader');
      const sid = b.jar.get('sessionid') ?? '';
      for (const disguise of ['\x85', '\xa0', ' ']) {
        const res = await new Browser(up.url).get('/documents/', { headers: [['Cookie', `a=1;${disguise}sessionid${disguise}=${sid}`]] });
        assert.equal(res.status, 200, JSON.stringify(disguise));
        assert.match(res.body, /id="user">cookie-reader</);
      }
    });

    it('an inactive user is refused', async () => {
      await up.addUser({ username: 'gone', is_active: false });
      const res = await new Browser(up.url).get('/', { headers: [['Remote-User', 'gone']] });
      assert.equal(res.status, 302);
    });

    it('the header is ignored on /api/ unless API mode is on', async () => {
      await up.addUser({ username: 'reader', user_permissions: ['view_document'] });
      const res = await new Browser(up.url).get('/api/documents/', { headers: [['Remote-User', 'reader']] });
      assert.equal(res.status, 403);
      assert.deepEqual(json(res.body), { detail: 'Authentication credentials were not provided.' });
    });

    it('CSRF: session-authenticated unsafe requests need a trusted Origin and the token; token auth skips it', async () => {
      await up.addUser({ username: 'up', user_permissions: ['add_document'] });
      const b = await signedIn('up');
      const token = b.jar.get('csrftoken') ?? '';
      const post = (headers: Array<[string, string]>) =>
        b.request('POST', '/api/documents/post_document/', {
          headers: [['Content-Type', 'multipart/form-data; boundary=b'], ...headers],
          body: '--b\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\n\r\nx\r\n--b--\r\n',
        });
      assert.equal((await post([['Origin', up.url], ['X-CSRFToken', token]])).status, 200);
      assert.equal((await post([['Origin', PAPERLESS_URL], ['X-CSRFToken', token]])).status, 200, 'PAPERLESS_URL is trusted');
      const foreign = await post([['Origin', 'https://evil.example'], ['X-CSRFToken', token]]);
      assert.equal(foreign.status, 403);
      assert.match(json<{ detail: string }>(foreign.body).detail, /^CSRF Failed: Origin checking failed/);
      const missing = await post([['Origin', up.url]]);
      assert.equal(missing.status, 403);
      assert.match(json<{ detail: string }>(missing.body).detail, /^CSRF Failed: CSRF token (missing|incorrect)/);
      const byToken = await new Browser(up.url).request('POST', '/api/documents/post_document/', {
        headers: [['Authorization', `Token ${admin}`], ['Origin', 'https://evil.example'], ['Content-Type', 'multipart/form-data; boundary=b']],
        body: '--b\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\n\r\nx\r\n--b--\r\n',
      });
      assert.equal(byToken.status, 200, 'token auth skips CSRF');
    });

    it('GET /accounts/logout/ flushes the session and redirects to LOGOUT_REDIRECT_URL or ?next=', async () => {
      const b = await signedIn('leaver');
      const sid = b.jar.get('sessionid') ?? '';
      const res = await b.get('/accounts/logout/');
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, '/accounts/login/?loggedout=1');
      assert.equal(await up.sessionUser(sid), undefined);
      assert.equal(b.jar.get('sessionid'), undefined, 'the sessionid cookie is expired');
      const again = await signedIn('leaver');
      const next = await again.get('/accounts/logout/?next=/accounts/login/%3Fnext%3D/');
      assert.equal(next.headers.location, '/accounts/login/?next=/');
    });

    it("the other logouts, Django admin's and allauth's at /api/auth/, check CSRF on POST and end only Paperless's session", async () => {
      await up.addUser({ username: 'staffer', is_staff: true });
      for (const [path, username] of [['/api/auth/logout/', 'api-leaver'], ['/admin/logout/', 'staffer']] as const) {
        const b = await signedIn(username);
        const sid = b.jar.get('sessionid') ?? '';
        const refused = await b.request('POST', path, { headers: [['Origin', up.url]] });
        assert.equal(refused.status, 403, `${path} without the CSRF token`);
        assert.equal(await up.sessionUser(sid), username);
        const res = await b.request('POST', path, { headers: [['Origin', up.url], ['X-CSRFToken', b.jar.get('csrftoken') ?? '']] });
        assert.equal(res.status, 302, path);
        assert.equal(res.headers.location, '/accounts/login/?loggedout=1');
        assert.equal(await up.sessionUser(sid), undefined, `${path} flushed the session`);
      }
      // Django admin sends a user who is not staff to /admin/ instead, and keeps the session.
      const b = await signedIn('not-staff');
      const res = await b.request('POST', '/admin/logout/', { headers: [['Origin', up.url], ['X-CSRFToken', b.jar.get('csrftoken') ?? '']] });
      assert.equal(res.headers.location, '/admin/');
      assert.equal(await up.sessionUser(b.jar.get('sessionid') ?? ''), 'not-staff');
    });

    it('allauth signs out on GET and HEAD at /api/auth/logout/, and Django routes the decoded path, the admin unanchored (§9)', async () => {
      for (const [method, path] of [['GET', '/api/auth/logout/'], ['HEAD', '/api/auth/logout/'], ['GET', '/api/auth/%6cogout/'], ['GET', '/accounts/%6Cogout/']] as const) {
        const b = await signedIn('get-leaver');
        const sid = b.jar.get('sessionid') ?? '';
        const res = await b.request(method, path);
        assert.equal(res.status, 302, `${method} ${path}`);
        assert.equal(await up.sessionUser(sid), undefined, `${method} ${path} flushed the session`);
      }
      await up.addUser({ username: 'staff-leaver', is_staff: true });
      for (const path of ['/admin/%6cogout/', '/x/admin/logout/', '/documents/admin/logout/', '/api/documents/admin/logout/', '/xadmin/logout/']) {
        const b = await signedIn('staff-leaver');
        const sid = b.jar.get('sessionid') ?? '';
        const res = await b.request('POST', path, { headers: [['Origin', up.url], ['X-CSRFToken', b.jar.get('csrftoken') ?? '']] });
        assert.equal(res.status, 302, path);
        assert.equal(await up.sessionUser(sid), undefined, `${path} reached the admin's logout`);
      }
    });

    it('/ws/status/ authenticates by the session cookie only and says nothing on connect', async () => {
      const b = await signedIn('watcher');
      const url = up.url.replace('http', 'ws') + '/ws/status/';
      const open = await openSocket(url, { Cookie: b.cookieHeader() });
      assert.ok(open.ws, `refused with ${open.status}`);
      await assert.rejects(nextMessage(open.ws, 300), /no websocket message/);
      open.ws.close();
      // Channels denies it. 2.20.15's granian 2.5.4 then never answers the handshake (its issue
      // #818); 3.0.5's granian 2.7 answers 403 (§9). The Django upstream runs granian 2.5.4 in
      // both modes, so only the simulator shows 3.0.5's answer.
      const denied = await openSocket(url, { 'Remote-User': 'watcher' }, 1500);
      assert.equal(denied.ws, undefined, 'the header alone does not open the socket');
      if (line === 3 && kind === 'simulator') assert.equal(denied.status, 403, "3.0.5 answers the denial");
      else assert.equal(denied.timedOut, true, 'a denied handshake gets no answer');
    });

    it("status messages reach the document's owner and superusers, nobody else", async () => {
      const url = up.url.replace('http', 'ws') + '/ws/status/';
      const owner = await openSocket(url, { Cookie: (await signedIn('owner')).cookieHeader() });
      const other = await openSocket(url, { Cookie: (await signedIn('other')).cookieHeader() });
      const root = await openSocket(url, { Cookie: (await signedIn('root')).cookieHeader() });
      assert.ok(owner.ws && other.ws && root.ws);
      const otherGot = nextMessage(other.ws, 1500).then(() => true, () => false);
      const [forOwner, forRoot] = [nextMessage(owner.ws), nextMessage(root.ws)];
      await up.sendStatus('owner', 'WORKING');
      for (const message of [await forOwner, await forRoot]) {
        const m = message as { type: string; data: { status: string; owner_id: number } };
        assert.equal(m.type, 'status_update');
        assert.equal(m.data.status, 'WORKING');
        assert.equal(m.data.owner_id, (await up.user('owner'))?.id);
      }
      assert.equal(await otherGot, false);
      for (const s of [owner, other, root]) s.ws?.close();
    });

    it('an upload is reported STARTED, WORKING, SUCCESS with its document_id on /ws/status/', async () => {
      await up.addUser({ username: 'scanner', user_permissions: ['add_document'] });
      const b = await signedIn('scanner');
      const { ws } = await openSocket(up.url.replace('http', 'ws') + '/ws/status/', { Cookie: b.cookieHeader() });
      assert.ok(ws);
      const messages: Array<{ data: { status: string; document_id: number | null } }> = [];
      ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString()) as (typeof messages)[number]));
      const res = await new Browser(up.url).request('POST', '/api/documents/post_document/', {
        headers: [['Authorization', `Token ${await up.tokenFor('scanner')}`], ['Content-Type', 'multipart/form-data; boundary=b']],
        body: '--b\r\nContent-Disposition: form-data; name="document"; filename="scan.pdf"\r\n\r\n%PDF-1.4\r\n--b--\r\n',
      });
      assert.equal(res.status, 200);
      assert.equal(typeof json<unknown>(res.body), 'string', 'the task id, as a JSON string');
      for (let i = 0; i < 50 && messages.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(messages.map((m) => m.data.status), ['STARTED', 'WORKING', 'SUCCESS']);
      assert.equal(typeof messages[2]?.data.document_id, 'number');
      assert.deepEqual((await up.uploads()).at(-1), { user: 'scanner', bytes: 8 });
      ws.close();
    });

    it('share links: served without sign-in; unknown and expired ones redirect to the login page', async () => {
      await up.addShareLink('abc123');
      await up.addShareLink('old456', { expired: true });
      const ok = await new Browser(up.url).get('/share/abc123');
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'shared document abc123');
      assert.equal((await new Browser(up.url).get('/share/nope')).headers.location, '/accounts/login/?sharelink_notfound=1');
      assert.equal((await new Browser(up.url).get('/share/old456')).headers.location, '/accounts/login/?sharelink_expired=1');
    });

    it('documents: the owner, whom it is shared with, and everyone with view_document when it has no owner see it; a superuser sees all', async () => {
      await up.addGroup('doc-readers', ['view_document']);
      await up.addGroup('doc-team');
      const reader = async (username: string, groups: string[] = ['doc-readers']) => {
        await up.addUser({ username, groups });
        return up.tokenFor(username);
      };
      const [owner, friend, member, other, unpermitted] = [
        await reader('doc-owner'),
        await reader('doc-friend'),
        await reader('doc-member', ['doc-readers', 'doc-team']),
        await reader('doc-other'),
        await reader('doc-unpermitted', ['doc-team']),
      ];
      const ownerless = (await up.addDocument({ title: 'ownerless' })).id;
      const own = (await up.addDocument({ title: 'own', owner: 'doc-owner' })).id;
      const toFriend = (await up.addDocument({ title: 'to a friend', owner: 'doc-owner', viewUsers: ['doc-friend', 'doc-unpermitted'] })).id;
      const toTeam = (await up.addDocument({ title: 'to the team', owner: 'doc-owner', viewGroups: ['doc-team'] })).id;
      const mine = [ownerless, own, toFriend, toTeam];
      const listed = async (token: string, query = '?page_size=100') => {
        const res = await api('GET', `/api/documents/${query}`, undefined, token);
        assert.equal(res.status, 200, res.body);
        return json<{ count: number; next: string | null; results: Array<{ id: number; title: string; owner: number | null }> }>(res.body);
      };
      const ids = async (token: string) => (await listed(token)).results.map((d) => d.id).filter((id) => mine.includes(id)).sort((a, b) => a - b);
      assert.deepEqual(await ids(owner), [ownerless, own, toFriend, toTeam], 'the owner: their three and the ownerless one');
      assert.deepEqual(await ids(friend), [ownerless, toFriend], 'shared with the user');
      assert.deepEqual(await ids(member), [ownerless, toTeam], "shared with one of the user's groups");
      assert.deepEqual(await ids(other), [ownerless], 'view_document alone: the ownerless one');
      assert.deepEqual(await ids(admin), [ownerless, own, toFriend, toTeam], 'a superuser: all');
      const page = await listed(owner, '?page_size=2');
      assert.deepEqual([page.count, page.results.length], [4, 2], 'paginated as Paperless');
      assert.ok(page.next);
      const ownerId = (await up.user('doc-owner'))?.id;
      assert.deepEqual(
        (await listed(owner)).results.find((d) => d.id === toTeam),
        { id: toTeam, title: 'to the team', owner: ownerId },
      );
      const denied = await api('GET', '/api/documents/', undefined, unpermitted);
      assert.equal(denied.status, 403, 'without view_document the list is refused, whatever is shared with the user');
      assert.deepEqual(json(denied.body), { detail: 'You do not have permission to perform this action.' });
      const one = await api('GET', `/api/documents/${toFriend}/`, undefined, friend);
      assert.equal(one.status, 200, one.body);
      assert.deepEqual(json(one.body), { id: toFriend, title: 'to a friend', owner: ownerId });
      const hidden = await api('GET', `/api/documents/${own}/`, undefined, friend);
      assert.equal(hidden.status, 404, 'a document the user may not see does not exist for them');
      assert.deepEqual(json(hidden.body), { detail: 'No Document matches the given query.' });
    });

    it('users API: pagination with next links and all, __iexact filters, plain ?username= ignored', async () => {
      for (let i = 0; i < 30; i++) await up.addUser({ username: `bulk${i}` });
      const first = json<{ count: number; results: unknown[]; all: number[] }>((await api('GET', '/api/users/')).body);
      assert.equal(first.results.length, 25);
      assert.equal(first.all.length, first.count);
      const seen = new Set<number>();
      let next: string | null = '/api/users/';
      while (next) {
        const url = new URL(next, up.url);
        const page: { next: string | null; results: Array<{ id: number }> } = json((await api('GET', url.pathname + url.search)).body);
        for (const r of page.results) seen.add(r.id);
        next = page.next;
      }
      assert.equal(seen.size, first.count);
      const exact = json<{ results: Array<{ username: string; password: string }> }>((await api('GET', '/api/users/?username__iexact=BULK7')).body);
      assert.deepEqual(exact.results.map((u) => u.username), ['bulk7']);
      assert.equal(json<{ count: number }>((await api('GET', '/api/users/?username=bulk7')).body).count, first.count);
      assert.equal(json<{ count: number }>((await api('GET', '/api/users/?page_size=100000')).body).count, first.count);
    });

    it('users and groups API: create, patch, permissions, errors', async () => {
      const g = await api('POST', '/api/groups/', { name: 'finance', permissions: ['view_document'] });
      assert.equal(g.status, 201);
      const gid = json<{ id: number }>(g.body).id;
      assert.equal((await api('POST', '/api/groups/', { name: 'finance', permissions: [] })).status, 400);
      assert.match((await api('POST', '/api/groups/', { name: 'x', permissions: ['fly_document'] })).body, /does not exist/);
      const password = 'p'.repeat(40);
      const u = await api('POST', '/api/users/', { username: 'newhire', email: 'n@example.com', groups: [gid], password });
      assert.equal(u.status, 201);
      const user = json<{ id: number; inherited_permissions: string[]; password: string }>(u.body);
      assert.deepEqual(user.inherited_permissions, ['documents.view_document']);
      assert.equal(user.password, '**********');
      const patched = json<{ groups: number[]; first_name: string }>((await api('PATCH', `/api/users/${user.id}/`, { groups: [], first_name: 'New' })).body);
      assert.deepEqual(patched.groups, []);
      assert.equal(patched.first_name, 'New');
      await api('PATCH', `/api/users/${user.id}/`, { password: '**********' });
      const login = await new Browser(up.url).post('/api/token/', { username: 'newhire', password });
      assert.equal(login.status, 200, 'an all-* password leaves the password unchanged');
      assert.equal((await api('GET', '/api/users/99999/')).status, 404);
      assert.equal((await api('PATCH', `/api/users/${user.id}/`, { user_permissions: ['view_logentry'] })).status, 200, 'the audit log permission');
      const auditors = json<{ id: number }>((await api('POST', '/api/groups/', { name: 'auditors', permissions: ['view_logentry', 'view_mailrule'] })).body);
      const inherited = json<{ inherited_permissions: string[] }>((await api('PATCH', `/api/users/${user.id}/`, { groups: [auditors.id] })).body);
      assert.deepEqual([...inherited.inherited_permissions].sort(), ['auditlog.view_logentry', 'paperless_mail.view_mailrule']);
      assert.equal((await api('PATCH', `/api/users/${user.id}/`, { user_permissions: ['fly_document'] })).status, 400);
    });

    it('only a superuser may grant staff or superuser (plain-text 403); a bad token gets 403', async () => {
      await up.addUser({ username: 'manager', user_permissions: ['change_user', 'view_user', 'add_user'] });
      const token = await up.tokenFor('manager');
      const target = await up.user('newhire');
      const res = await api('PATCH', `/api/users/${target?.id}/`, { is_superuser: true }, token);
      assert.equal(res.status, 403);
      assert.match(String(res.headers['content-type']), /text\/html|text\/plain/);
      assert.equal(res.body, 'Superuser status can only be changed by a superuser');
      const bad = await api('GET', '/api/users/', undefined, 'nope');
      assert.equal(bad.status, 403);
      assert.deepEqual(json(bad.body), { detail: 'Invalid token.' });
    });

    it('POST /api/token/ checks the local password; with a session cookie it needs the CSRF token', async () => {
      const b = new Browser(up.url);
      const ok = await b.post('/api/token/', { username: 'root', password: 'root-pass' });
      assert.equal(ok.status, 200);
      assert.deepEqual(json(ok.body), { token: admin });
      const bad = await b.post('/api/token/', { username: 'root', password: 'x' });
      assert.equal(bad.status, 400);
      assert.deepEqual(json(bad.body), { non_field_errors: ['Unable to log in with provided credentials.'] });
      const withSession = await signedIn('root');
      const csrf = await withSession.post('/api/token/', { username: 'root', password: 'root-pass' });
      assert.equal(csrf.status, 403, 'DRF session authentication runs first and enforces CSRF');
    });

    it("DRF's order: a session wins over a token; Basic checks Paperless's local password; Authorization splits on ASCII whitespace only", async () => {
      const b = await signedIn('holder');
      const asRoot = await b.get('/api/profile/', { headers: [['Authorization', `Token ${admin}`]] });
      assert.equal(asRoot.status, 200);
      const mark = await up.mark();
      await b.get('/api/ui_settings/', { headers: [['Authorization', `Token ${admin}`]] });
      assert.equal((await up.requestsSince(mark))[0]?.user, 'holder', 'the session user, not the token user');
      const basic = (credentials: string) => new Browser(up.url).get('/api/profile/', { headers: [['Authorization', `Basic ${Buffer.from(credentials).toString('base64')}`]] });
      assert.equal((await basic('root:root-pass')).status, 200);
      const wrong = await basic('root:nope');
      assert.equal(wrong.status, 403);
      assert.deepEqual(json(wrong.body), { detail: 'Invalid username/password.' });
      const nbsp = await new Browser(up.url).request('GET', '/api/profile/', { headers: [['Authorization', `Token\u00a0${admin}`]] });
      assert.equal(nbsp.status, 403, 'Token\\xa0<key> is no token to DRF');
      assert.deepEqual(json(nbsp.body), { detail: 'Authentication credentials were not provided.' });
      const spaces = await new Browser(up.url).get('/api/profile/', { headers: [['Authorization', `Token ${admin} extra`]] });
      assert.deepEqual(json(spaces.body), { detail: 'Invalid token header. Token string should not contain spaces.' });
    });

    it("2.x has none of 3.x's permissions: a group naming one is refused", { skip: line === 3 && '3.x has them' }, async () => {
      const res = await api('POST', '/api/groups/', { name: 'Three', permissions: ['view_sharelinkbundle'] });
      assert.equal(res.status, 400);
      assert.deepEqual(json(res.body), { permissions: ['Object with codename=view_sharelinkbundle does not exist.'] });
    });

    it('API versions: answers carry X-Api-Version for a signed-in user; an unknown version is 406', async () => {
      const res = await api('GET', '/api/profile/');
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-api-version'], line === 2 ? '9' : '10', "the newest version Paperless knows, whatever was asked");
      assert.equal(res.headers['x-version'], line === 2 ? '2.20.15' : '3.0.5');
      assert.equal((await api('GET', '/api/profile/', undefined, admin, 'application/json; version=99')).status, 406);
    });

    it('profile: the token appears in /api/profile/ and generate_auth_token answers the new key as a JSON string', async () => {
      const before = json<{ auth_token: string }>((await api('GET', '/api/profile/')).body);
      assert.equal(before.auth_token, admin);
      const fresh = await api('POST', '/api/profile/generate_auth_token/');
      const key = json<string>(fresh.body);
      assert.match(key, /^[0-9a-f]{40}$/);
      assert.equal(json<{ auth_token: string }>((await api('GET', '/api/profile/', undefined, key)).body).auth_token, key);
      admin = key;
    });
  });

  describe(`Paperless contract, another header and a cookie prefix (${kind})`, () => {
    const up: Upstream = createUpstream(kind, { remoteUserKey: 'HTTP_X_FORWARDED_USER', cookiePrefix: 'pl_' });
    before(async () => up.start());
    after(async () => up.destroy());

    it('PAPERLESS_HTTP_REMOTE_USER_HEADER_NAME is a META key; PAPERLESS_COOKIE_PREFIX prefixes sessionid and csrftoken', async () => {
      const ignored = await new Browser(up.url).get('/', { headers: [['Remote-User', 'alice']] });
      assert.equal(ignored.status, 302, 'Remote-User means nothing with another key');
      const b = new Browser(up.url);
      const res = await b.get('/', { headers: [['X-Forwarded-User', 'alice']] });
      assert.equal(res.status, 200);
      assert.match(res.body, /id="user">alice</);
      assert.ok(b.jar.get('pl_sessionid') && b.jar.get('pl_csrftoken'));
      assert.equal(b.jar.get('sessionid'), undefined);
      assert.equal(await up.sessionUser(b.jar.get('pl_sessionid') ?? ''), 'alice');
    });
  });

  describe(`Paperless contract, API header mode (${kind})`, () => {
    const up: Upstream = createUpstream(kind, { enableRemoteUserApi: true });
    before(async () => {
      await up.start();
      await up.addUser({ username: 'reader', user_permissions: ['view_uisettings'] });
    });
    after(async () => up.destroy());

    it('the header wins over a token, and a header-authenticated POST needs no CSRF token', async () => {
      await up.addUser({ username: 'tokenholder' });
      const token = await up.tokenFor('tokenholder');
      const mark = await up.mark();
      const res = await new Browser(up.url).get('/api/ui_settings/', { headers: [['Authorization', `Token ${token}`], ['Remote-User', 'reader']] });
      assert.equal(res.status, 200);
      assert.equal(json<{ user: { username: string } }>(res.body).user.username, 'reader');
      assert.equal((await up.requestsSince(mark))[0]?.user, 'reader');
      await up.addUser({ username: 'poster', user_permissions: ['add_document'] });
      const post = await new Browser(up.url).request('POST', '/api/documents/post_document/', {
        headers: [['Remote-User', 'poster'], ['Origin', 'https://evil.example'], ['Content-Type', 'multipart/form-data; boundary=b']],
        body: '--b\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\n\r\nx\r\n--b--\r\n',
      });
      assert.equal(post.status, 200);
    });
  });

  describe(`Paperless 3.x contract: 3.0.5 (${kind})`, () => {
    const up: Upstream = createUpstream(kind, { line: 3 });
    let admin: string;
    before(async () => {
      await up.start();
      await up.addUser({ username: 'root', is_superuser: true, is_staff: true });
      admin = await up.tokenFor('root');
    });
    after(async () => up.destroy());

    const api = (method: string, path: string, body?: unknown, accept = 'application/json; version=9') =>
      new Browser(up.url).request(method, path, {
        headers: [['Authorization', `Token ${admin}`], ['Accept', accept], ['Content-Type', 'application/json']],
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    it('API versions 9 and 10 only; answers say 10 and the version 3.0.5', async () => {
      for (const v of ['9', '10']) {
        const res = await api('GET', '/api/profile/', undefined, `application/json; version=${v}`);
        assert.equal(res.status, 200, `version ${v}`);
        assert.equal(res.headers['x-api-version'], '10');
        assert.equal(res.headers['x-version'], '3.0.5');
      }
      assert.equal((await api('GET', '/api/profile/', undefined, 'application/json; version=8')).status, 406);
    });

    it("3.x's permissions exist: share-link bundles, global statistics, system monitoring", async () => {
      const perms = ['add_sharelinkbundle', 'view_sharelinkbundle', 'view_global_statistics', 'view_system_monitoring'];
      const made = await api('POST', '/api/groups/', { name: 'Three', permissions: perms });
      assert.equal(made.status, 201, made.body);
      assert.deepEqual(json<{ permissions: string[] }>(made.body).permissions.sort(), [...perms].sort());
    });

    it('POST /api/token/ is throttled to 5 a minute per client address (429 with Retry-After)', async () => {
      const tryOnce = (forwardedFor?: string) =>
        new Browser(up.url).post('/api/token/', { username: 'root', password: 'wrong' }, forwardedFor ? { headers: [['X-Forwarded-For', forwardedFor]] } : {});
      for (let i = 0; i < 5; i++) assert.equal((await tryOnce()).status, 400, `try ${i + 1}`);
      const sixth = await tryOnce();
      assert.equal(sixth.status, 429);
      assert.match(json<{ detail: string }>(sixth.body).detail, /^Request was throttled\. Expected available in \d+ seconds?\.$/);
      assert.match(String(sixth.headers['retry-after']), /^\d+$/);
      // DRF keys an anonymous client by X-Forwarded-For when there is one: behind a proxy
      // that sets it, each client has its own five.
      assert.equal((await tryOnce('203.0.113.9')).status, 400);
    });

    it('document chat answers 400 without an AI backend', { skip: kind === 'simulator' && 'the simulator has no chat' }, async () => {
      const res = await api('POST', '/api/documents/chat/', { q: 'hello' });
      assert.equal(res.status, 400);
      assert.equal(res.body, 'AI is required for this feature');
    });

    it("allauth's headless API: the session endpoint shows the user, and DELETE ends Paperless's session with a 401", async () => {
      const b = new Browser(up.url);
      assert.equal((await b.get('/', { headers: [['Remote-User', 'headless']] })).status, 200);
      const sid = b.jar.get('sessionid') ?? '';
      const session = '/api/auth/headless/browser/v1/auth/session';
      const seen = await b.get(session);
      assert.equal(seen.status, 200, seen.body);
      assert.equal(json<{ data: { user: { username: string } } }>(seen.body).data.user.username, 'headless');
      const ended = await b.request('DELETE', session, { headers: [['X-CSRFToken', b.jar.get('csrftoken') ?? '']] });
      assert.equal(ended.status, 401, ended.body);
      assert.equal(json<{ meta: { is_authenticated: boolean } }>(ended.body).meta.is_authenticated, false);
      assert.equal(await up.sessionUser(sid), undefined, 'the session is flushed');
    });
  });
}

function json<T = Record<string, unknown>>(body: string): T {
  return JSON.parse(body) as T;
}
