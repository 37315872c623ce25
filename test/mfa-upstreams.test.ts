/**
 * Second factors as Paperless itself sees them, on the simulator and on the Django upstream
 * (Paperless's own auth stack): nothing arrives as the person before the second step, apps get
 * the person's real token only with an app password, and Basic with an app password reaches
 * Django's REST framework as that person.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStackOn, type UpstreamStack } from './support/stack.js';
import { fieldsOn, secretOn, totp } from './support/totp.js';
import { upstreamKinds } from './support/upstream.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

for (const kind of upstreamKinds()) {
  describe(`second factors against ${kind}`, () => {
    let stack: UpstreamStack;
    before(async () => {
      stack = await startStackOn(kind, {
        upstream: { enableRemoteUserApi: true },
        env: { GATEWAY_MFA: 'required', GATEWAY_MFA_KEY: '12'.repeat(32), GATEWAY_MFA_ENROLMENT: 'first-login' },
      });
    });
    after(async () => stack?.stop());

    it('password, second step, Paperless: nothing reaches Paperless as the person in between; apps need an app password', async () => {
      const mark = await stack.upstream.mark();
      const b = stack.browser();
      await b.login('alice', 'alice-pass');
      const page = await b.get('/accounts/login/enrol/');
      const secret = secretOn(page.body);
      // Half-way: the API, a page and Basic with the directory password all stop at the gateway.
      assert.equal((await b.get('/api/ui_settings/')).status, 401);
      assert.equal((await b.get('/documents/')).status, 302);
      assert.equal((await stack.browser().request('GET', '/api/ui_settings/', { headers: [['Authorization', basic('alice', 'alice-pass')]] })).status, 403);
      assert.deepEqual((await stack.upstream.requestsSince(mark)).filter((r) => r.user === 'alice' || r.remoteUser === 'alice').map((r) => r.path), []);
      assert.equal((await b.post('/accounts/login/enrol/', { ...fieldsOn(page.body, ['_csrf', 'enrolment']), code: totp(secret) })).status, 200);
      const settings = await b.get('/api/ui_settings/');
      assert.equal(settings.status, 200, 'both factors done: Paperless sees alice');

      const account = await b.get('/accounts/security/app-passwords/');
      const created = await b.post('/accounts/security/app-passwords', { ...fieldsOn(account.body, ['_csrf']), name: 'Script', password: 'alice-pass' });
      const value = /id="app-password">([a-z0-9-]+)</.exec(created.body)?.[1] as string;
      assert.ok(value);
      const before = await stack.upstream.mark();
      const script = await stack.browser().request('GET', '/api/ui_settings/', { headers: [['Authorization', basic('alice', value)]] });
      assert.equal(script.status, 200);
      const seen = (await stack.upstream.requestsSince(before)).find((r) => r.path === '/api/ui_settings/');
      assert.equal(seen?.user, 'alice', `${kind} authenticated the script as alice`);
      assert.ok(!seen?.rawHeaders.some(([k]) => k.toLowerCase() === 'authorization'), 'the app password never reaches Paperless');
      const app = await stack.browser().post('/api/token/', { username: 'alice', password: value });
      assert.equal(app.status, 200);
      const token = JSON.parse(app.body).token as string;
      assert.equal(token, await stack.upstream.tokenFor('alice'), "the person's own Paperless token");
      assert.equal((await stack.browser().post('/api/token/', { username: 'alice', password: 'alice-pass' })).status, 400);
    });
  });
}
