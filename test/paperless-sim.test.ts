/**
 * The simulator is what every other test trusts, so it is tested against the
 * contract (../shared/paperless-contract.md) directly, without the gateway.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { Browser } from './support/http-client.js';
import { PaperlessSim } from './support/paperless-sim.js';

describe('Paperless simulator follows the contract', () => {
  const sim = new PaperlessSim({ paperlessUrl: 'https://paperless.example.com' });
  let admin: string;
  before(async () => {
    await sim.start();
    sim.addUser({ username: 'root', is_superuser: true, password: 'root-pass' });
    admin = sim.tokenFor('root');
  });
  after(async () => sim.stop());

  const api = (method: string, path: string, body?: unknown, token = admin) =>
    new Browser(sim.url).request(method, path, {
      headers: [['Authorization', `Token ${token}`], ['Accept', 'application/json; version=9'], ['Content-Type', 'application/json']],
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('header login: first sight creates a bare user and sets sessionid and csrftoken', async () => {
    const b = new Browser(sim.url);
    const res = await b.get('/documents/', { headers: [['Remote-User', 'newbie']] });
    assert.equal(res.status, 200);
    assert.ok(b.jar.get('sessionid') && b.jar.get('csrftoken'));
    const u = sim.user('newbie');
    assert.ok(u);
    assert.deepEqual([u.email, u.first_name, u.groups, u.user_permissions, u.is_staff, u.is_superuser, u.is_active], ['', '', [], [], false, false, true]);
  });

  it('usernames are case-sensitive: Alice and alice are two users', async () => {
    await new Browser(sim.url).get('/', { headers: [['Remote-User', 'Casey']] });
    await new Browser(sim.url).get('/', { headers: [['Remote-User', 'casey']] });
    assert.ok(sim.user('Casey') && sim.user('casey'));
    assert.notEqual(sim.user('Casey')?.id, sim.user('casey')?.id);
  });

  it('Django joins duplicate spellings with a comma', async () => {
    await new Browser(sim.url).get('/', { headers: [['Remote-User', 'evil'], ['remote_user', 'alice']] });
    assert.equal(sim.requests.at(-1)?.remoteUser, 'evil,alice');
    assert.ok(sim.user('evil,alice'));
  });

  it('the session is persistent without the header, and another name switches user', async () => {
    const b = new Browser(sim.url);
    await b.get('/', { headers: [['Remote-User', 'pat']] });
    const first = b.jar.get('sessionid');
    assert.match((await b.get('/')).body, /id="user">pat</);
    const switched = await b.get('/', { headers: [['Remote-User', 'sam']] });
    assert.match(switched.body, /id="user">sam</);
    assert.notEqual(b.jar.get('sessionid'), first, 'a new session on user switch');
    assert.equal(sim.sessions.has(first ?? ''), false);
  });

  it('an inactive user is refused', async () => {
    sim.addUser({ username: 'gone', is_active: false });
    const res = await new Browser(sim.url).get('/', { headers: [['Remote-User', 'gone']] });
    assert.equal(res.status, 302);
  });

  it('the header is ignored on /api/ unless API mode is on', async () => {
    const res = await new Browser(sim.url).get('/api/documents/', { headers: [['Remote-User', 'root']] });
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Token');
    assert.deepEqual(JSON.parse(res.body), { detail: 'Authentication credentials were not provided.' });
  });

  it('CSRF: session-authenticated unsafe requests need a trusted Origin and the token', async () => {
    sim.addUser({ username: 'up', user_permissions: ['add_document'] });
    const b = new Browser(sim.url);
    await b.get('/', { headers: [['Remote-User', 'up']] });
    const token = b.jar.get('csrftoken') ?? '';
    const post = (headers: Array<[string, string]>) => b.request('POST', '/api/documents/post_document/', { headers, body: 'x' });
    assert.equal((await post([['Origin', sim.url], ['X-CSRFToken', token]])).status, 200);
    assert.equal((await post([['Origin', 'https://paperless.example.com'], ['X-CSRFToken', token]])).status, 200, 'PAPERLESS_URL is trusted');
    assert.match((await post([['Origin', 'https://evil.example'], ['X-CSRFToken', token]])).body, /Origin checking failed/);
    assert.match((await post([['Origin', sim.url]])).body, /CSRF token incorrect/);
    assert.equal((await api('POST', '/api/documents/post_document/', {})).status, 200, 'token auth skips CSRF');
  });

  it('logout flushes the session and redirects', async () => {
    const b = new Browser(sim.url);
    await b.get('/', { headers: [['Remote-User', 'leaver']] });
    const sid = b.jar.get('sessionid') ?? '';
    const res = await b.get('/accounts/logout/');
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, '/accounts/login/?loggedout=1');
    assert.equal(sim.sessions.has(sid), false);
  });

  it('/ws/status/ authenticates by the session cookie only', async () => {
    const b = new Browser(sim.url);
    await b.get('/', { headers: [['Remote-User', 'watcher']] });
    const url = sim.url.replace('http', 'ws') + '/ws/status/';
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.once('open', () => {
          ws.close();
          resolve(101);
        });
        ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      });
    assert.equal(await status({ Cookie: b.cookieHeader() }), 101);
    assert.equal(await status({ 'Remote-User': 'watcher' }), 403);
  });

  it('users API: pagination with next links, __iexact filters, plain ?username= ignored', async () => {
    for (let i = 0; i < 60; i++) sim.addUser({ username: `bulk${i}` });
    const total = sim.users.length;
    const first = JSON.parse((await api('GET', '/api/users/')).body);
    assert.equal(first.count, total);
    assert.equal(first.results.length, 25);
    assert.equal(first.all.length, total);
    const seen = new Set<number>();
    let next: string | null = '/api/users/';
    while (next) {
      const page: { next: string | null; results: Array<{ id: number }> } = JSON.parse((await api('GET', new URL(next, sim.url).pathname + new URL(next, sim.url).search)).body);
      for (const r of page.results) seen.add(r.id);
      next = page.next;
    }
    assert.equal(seen.size, total);
    const exact = JSON.parse((await api('GET', '/api/users/?username__iexact=BULK7')).body);
    assert.deepEqual(exact.results.map((u: { username: string }) => u.username), ['bulk7']);
    const ignored = JSON.parse((await api('GET', '/api/users/?username=bulk7')).body);
    assert.equal(ignored.count, total);
    assert.equal(exact.results[0].password, '**********');
  });

  it('users and groups API: create, patch, permissions, errors', async () => {
    const g = await api('POST', '/api/groups/', { name: 'finance', permissions: ['view_document'] });
    assert.equal(g.status, 201);
    const gid = JSON.parse(g.body).id;
    assert.equal((await api('POST', '/api/groups/', { name: 'finance', permissions: [] })).status, 400);
    assert.match((await api('POST', '/api/groups/', { name: 'x', permissions: ['fly_document'] })).body, /does not exist/);
    const u = await api('POST', '/api/users/', { username: 'newhire', email: 'n@example.com', groups: [gid], password: 'p'.repeat(40) });
    assert.equal(u.status, 201);
    const user = JSON.parse(u.body);
    assert.deepEqual(user.inherited_permissions, ['documents.view_document']);
    const patched = JSON.parse((await api('PATCH', `/api/users/${user.id}/`, { groups: [], first_name: 'New' })).body);
    assert.deepEqual(patched.groups, []);
    assert.equal(patched.first_name, 'New');
    assert.equal(sim.user('newhire')?.password, 'p'.repeat(40));
    await api('PATCH', `/api/users/${user.id}/`, { password: '**********' });
    assert.equal(sim.user('newhire')?.password, 'p'.repeat(40), 'an all-* password leaves it unchanged');
    assert.equal((await api('GET', '/api/users/99999/')).status, 404);
  });

  it('only a superuser may grant staff or superuser (plain-text 403); bad tokens get 401', async () => {
    sim.addUser({ username: 'manager', user_permissions: ['change_user', 'view_user', 'add_user'] });
    const token = sim.tokenFor('manager');
    const target = sim.user('newhire');
    const res = await api('PATCH', `/api/users/${target?.id}/`, { is_superuser: true }, token);
    assert.equal(res.status, 403);
    assert.match(String(res.headers['content-type']), /text\/plain/);
    const bad = await api('GET', '/api/users/', undefined, 'nope');
    assert.equal(bad.status, 401);
    assert.deepEqual(JSON.parse(bad.body), { detail: 'Invalid token.' });
  });

  it('POST /api/token/ answers like Paperless', async () => {
    const b = new Browser(sim.url);
    const ok = await b.post('/api/token/', { username: 'root', password: 'root-pass' });
    assert.deepEqual(JSON.parse(ok.body), { token: admin });
    const bad = await b.post('/api/token/', { username: 'root', password: 'x' });
    assert.equal(bad.status, 400);
    assert.deepEqual(JSON.parse(bad.body), { non_field_errors: ['Unable to log in with provided credentials.'] });
  });
});
