/**
 * Attack: reaching Paperless's own local-password views through the gateway. Django routes the
 * decoded path, so `/api/%74oken/` is DRF's ObtainAuthToken, which checks Paperless's *local*
 * password; DRF's browsable-API login, Django admin's login and allauth's pages do the same. A
 * signed-in person (or a token holder) could guess the local `admin`'s password there,
 * unregulated, and come back as that superuser. Every spelling is refused before Paperless, on
 * the simulator and on Django's real routing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Reply } from '../support/http-client.js';
import { startStackOn, type UpstreamStack } from '../support/stack.js';
import { upstreamKinds } from '../support/upstream.js';

const LOCAL = { username: 'admin', password: 'local-admin-pass' };

for (const kind of upstreamKinds()) {
  describe(`attack: Paperless's own sign-in and password views through the gateway (${kind})`, () => {
    let stack: UpstreamStack;
    let alice: Browser;
    let appToken: string;
    before(async () => {
      stack = await startStackOn(kind, { upstream: { enableRemoteUserApi: true } });
      await stack.upstream.addUser({ ...LOCAL, is_superuser: true, is_staff: true });
      alice = stack.browser();
      assert.equal((await alice.login('alice', 'alice-pass')).status, 303);
      await alice.get('/');
      const token = await stack.browser().post('/api/token/', { username: 'alice', password: 'alice-pass' });
      appToken = (JSON.parse(token.body) as { token: string }).token;
    });
    after(async () => stack?.stop());

    const own = (): Array<[string, string]> => [['Origin', stack.gateway.url], ['X-CSRFToken', alice.jar.get('csrftoken') ?? '']];
    const form = (path: string, headers: Array<[string, string]>, by: Browser = alice): Promise<Reply> =>
      by.request('POST', path, { headers: [['Content-Type', 'application/x-www-form-urlencoded'], ...headers], body: new URLSearchParams({ ...LOCAL, login: LOCAL.username }).toString() });

    it("no spelling of /api/token/, and no other local sign-in view, reaches Paperless, with the local admin's right password", async () => {
      const paths = [
        '/api/%74oken/',
        '/api%2Ftoken/',
        '/api/token%2F',
        '/api/auth/login/',
        '/api/auth/%6Cogin/',
        '/admin/login/',
        '/admin/%6cogin/',
        '/x/admin/login/',
        '/admin/password_change/',
        '/admin/auth/user/add/',
        '/admin/auth/%75ser/add/',
        '/accounts/%6cogin/',
        '/accounts/password/set/',
        '/accounts/password/change/',
        '/api/auth/headless/browser/v1/auth/login',
        '/api/auth/headless/app/v1/auth/login',
      ];
      const mark = await stack.upstream.mark();
      for (const path of paths) {
        const res = await form(path, own());
        assert.equal(res.status, 403, `${path}: ${res.body}`);
        assert.match((JSON.parse(res.body) as { detail: string }).detail, /not reachable through the gateway/, path);
        assert.doesNotMatch(res.body, /"token"/, `${path}: no token`);
      }
      // A client holding only a token, and nobody at all, are refused the same way.
      const byToken = await stack.browser().request('POST', '/api/%74oken/', {
        headers: [['Authorization', `Token ${appToken}`], ['Content-Type', 'application/json']],
        body: JSON.stringify(LOCAL),
      });
      assert.equal(byToken.status, 403, byToken.body);
      assert.equal((await form('/api%2Ftoken/', [], stack.browser())).status, 403);
      assert.deepEqual((await stack.upstream.requestsSince(mark)).map((r) => `${r.method} ${r.path}`), [], 'Paperless saw none of them');
      // The gateway's own app sign-in is the way in, with the directory: the local password is no use there.
      const real = await stack.browser().post('/api/token/', LOCAL);
      assert.equal(real.status, 400);
    });

    it("a local password set through Paperless's users API is refused; the placeholder passes", async () => {
      const bob = await stack.upstream.user('bob');
      const target = bob ?? (await stack.upstream.addUser({ username: 'bob' }));
      const root = await stack.upstream.tokenFor('gateway-admin');
      const patch = (password: string) =>
        stack.browser().request('PATCH', `/api/users/${target.id}/`, {
          headers: [['Authorization', `Token ${root}`], ['Content-Type', 'application/json'], ['Accept', 'application/json; version=9']],
          body: JSON.stringify({ password }),
        });
      const mark = await stack.upstream.mark();
      const attempts: Array<[string, string]> = [
        ['PATCH', `/api/users/${target.id}/`],
        ['PATCH', `/api/%75sers/${target.id}/`],
        // DRF's format suffixes route to the same views.
        ['PATCH', `/api/users/${target.id}.json`],
        ['POST', '/api/users.json'],
        ['POST', '/api/users/'],
      ];
      for (const [method, path] of attempts) {
        const res = await stack.browser().request(method, path, {
          headers: [['Authorization', `Token ${root}`], ['Content-Type', 'application/json']],
          body: JSON.stringify({ username: 'newhire', password: 'chosen-by-an-admin' }),
        });
        assert.equal(res.status, 400, `${method} ${path}: ${res.body}`);
        assert.match((JSON.parse(res.body) as { password: string[] }).password[0] ?? '', /manage\.py changepassword/);
      }
      assert.deepEqual((await stack.upstream.requestsSince(mark)).map((r) => r.path), [], 'Paperless saw none of them');
      const placeholder = await patch('**********');
      assert.equal(placeholder.status, 200, placeholder.body);
    });
  });
}
