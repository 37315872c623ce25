/**
 * The flows that matter, through the gateway, on the simulator and on the Django upstream
 * (Paperless's own Django, DRF, Channels and allauth under granian): what the user sees is
 * what Paperless's own parsers made of what the gateway forwarded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browser } from './support/http-client.js';
import { paperlessSessionOf } from './support/jar.js';
import { mappingFile } from './support/mapping.js';
import { documentUpload, postUpload } from './support/multipart.js';
import { startStackOn, type UpstreamStack } from './support/stack.js';
import { closedWithin, nextMessage, openSocket } from './support/status-socket.js';
import { upstreamKinds } from './support/upstream.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function upload(stack: UpstreamStack, b: Browser, size: number): Promise<{ status: number; body: string }> {
  return postUpload(stack.gateway.url, b, documentUpload(size, { filename: 'scan.pdf' }));
}

for (const kind of upstreamKinds()) {
  describe(`end to end, the browser's way (${kind})`, () => {
    let stack: UpstreamStack;
    before(async () => {
      // API header mode off: the UI's API calls ride on Paperless's own session and CSRF rule.
      stack = await startStackOn(kind, { upstream: { enableRemoteUserApi: false }, env: { GATEWAY_PROVISIONING_FILE: mappingFile() } });
    });
    after(async () => stack?.stop());

    it('sign-in, the page as Paperless sees you, an upload with X-CSRFToken reported on /ws/status/, sign-out', async () => {
      const b = stack.browser();
      assert.equal((await b.login('alice', 'alice-pass', '/documents/')).status, 303);
      const page = await b.get('/documents/');
      assert.equal(page.status, 200);
      assert.match(page.body, /id="user">alice</);
      assert.match(page.body, /id="superuser">yes</, 'provisioned before the first proxied request');
      assert.match(page.body, /id="groups">[^<]*Admins/);
      assert.equal(b.jar.get('sessionid'), undefined, "Paperless's session cookie never reaches the browser");
      assert.ok(b.jar.get('csrftoken'), "Paperless's CSRF cookie does: the UI reads it");
      const sid = await paperlessSessionOf(stack.redis.url, b);
      assert.ok(sid, 'the gateway keeps it in its session');
      assert.equal(await stack.upstream.sessionUser(sid), 'alice');

      const { ws, status } = await openSocket(stack.gateway.url.replace('http', 'ws') + '/ws/status/', { Cookie: b.cookieHeader(), Origin: stack.gateway.url });
      assert.ok(ws, `websocket refused with ${status}`);
      const statuses: string[] = [];
      ws.on('message', (d: Buffer) => statuses.push((JSON.parse(d.toString()) as { data: { status: string } }).data.status));
      const res = await upload(stack, b, 1024 * 1024);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual((await stack.upstream.uploads()).at(-1), { user: 'alice', bytes: 1024 * 1024 });
      for (let i = 0; i < 100 && statuses.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(statuses, ['STARTED', 'WORKING', 'SUCCESS']);

      const logout = await b.get('/accounts/logout/');
      assert.equal(logout.status, 303);
      assert.equal(logout.headers.location, '/accounts/login/?loggedout=1');
      assert.equal(await stack.upstream.sessionUser(sid), undefined, "Paperless's own session is flushed");
      assert.equal(await closedWithin(ws), true, 'the websocket closes with the session');
      assert.equal(b.jar.get('sessionid'), undefined);
      const after = await b.get('/documents/');
      assert.equal(after.status, 302);
      assert.match(String(after.headers.location), /^\/accounts\/login\//);
    });

    it('an upload without the CSRF token is refused by Paperless, not by a different parse of it', async () => {
      const b = stack.browser();
      await b.login('alice', 'alice-pass');
      await b.get('/');
      b.jar.delete('csrftoken');
      const res = await upload(stack, b, 64 * 1024);
      assert.equal(res.status, 403);
      assert.match((JSON.parse(res.body) as { detail: string }).detail, /^CSRF Failed/);
    });

    it('a websocket before any page (no Paperless session yet) opens: the gateway gets Paperless a session first', async () => {
      const b = stack.browser();
      await b.login('bob', 'bob-pass');
      // Paperless would deny it (the header does not count on /ws/status/), and granian 2.5.4 never answers that.
      const res = await openSocket(stack.gateway.url.replace('http', 'ws') + '/ws/status/', { Cookie: b.cookieHeader(), Origin: stack.gateway.url }, 15_000);
      assert.ok(res.ws, `answered ${res.status ?? (res.timedOut ? 'never' : 'with an error')}`);
      res.ws.close();
      assert.equal(b.jar.get('sessionid'), undefined, "Paperless's session stays in the gateway's jar");
    });

    it("every logout Paperless honours, as Django routes it, ends the gateway session too (§9)", async () => {
      const own: Array<[string, string]> = [['Origin', stack.gateway.url]];
      const cases: Array<[string, string, Array<[string, string]>]> = [
        ['POST', '/admin/logout/', own],
        ['POST', '/api/auth/logout/', own],
        // allauth's logout with ACCOUNT_LOGOUT_ON_GET: a link from Paperless's own page (its Referer).
        ['GET', '/api/auth/logout/', []],
        ['HEAD', '/api/auth/logout/', []],
        // Django routes the decoded path, and the admin is mounted unanchored.
        ['GET', '/api/auth/%6cogout/', []],
        ['GET', '/accounts/%6Cogout/', [['Sec-Fetch-Site', 'same-origin']]],
        ['POST', '/admin/%6cogout/', own],
        ['POST', '/x/admin/logout/', own],
        ['POST', '/api/documents/admin/logout/', own],
        ['POST', '/documents/admin%2flogout/', own],
      ];
      for (const [method, path, headers] of cases) {
        const b = stack.browser();
        await b.login('alice', 'alice-pass');
        await b.get('/');
        const sid = (await paperlessSessionOf(stack.redis.url, b)) ?? '';
        assert.equal(await stack.upstream.sessionUser(sid), 'alice');
        const res = await b.request(method, path, { headers: [...headers, ['X-CSRFToken', b.jar.get('csrftoken') ?? '']], typed: headers.length > 0 });
        assert.equal(res.status, 303, `${method} ${path}`);
        assert.equal(res.headers.location, '/accounts/login/?loggedout=1');
        assert.equal(await stack.upstream.sessionUser(sid), undefined, `${method} ${path}: Paperless's session is flushed`);
        const after = await b.get('/documents/');
        assert.equal(after.status, 302, `${method} ${path}: the gateway session is gone`);
        assert.match((await b.get('/accounts/login/?loggedout=1')).body, /You have been signed out/);
      }
    });

    it('a logout asked for by another site, or with no sign of our own page, is confirmed first and never forwarded', async () => {
      const b = stack.browser();
      await b.login('alice', 'alice-pass');
      await b.get('/');
      const sid = (await paperlessSessionOf(stack.redis.url, b)) ?? '';
      const evil = 'https://evil.example';
      const cases: Array<[string, string, Array<[string, string]>]> = [
        ['GET', '/accounts/logout/', []],
        ['GET', '/accounts/logout/', [['Referer', `${evil}/page`]]],
        ['GET', '/api/auth/logout/', [['Referer', `${evil}/page`]]],
        ['HEAD', '/api/auth/logout/', []],
        // Sec-Fetch-Site, where a browser sends it, decides alone.
        ['GET', '/api/auth/%6cogout/', [['Sec-Fetch-Site', 'cross-site'], ['Referer', `${stack.gateway.url}/`]]],
        ['GET', '/accounts/logout/', [['Sec-Fetch-Site', 'none']]],
        ['POST', '/admin/logout/', [['Origin', evil]]],
        ['POST', '/x/admin/%6cogout/', [['Origin', 'null']]],
        ['POST', '/api/auth/logout/', [['Origin', evil], ['Referer', `${stack.gateway.url}/`]]],
        ['POST', '/accounts/logout/', []],
      ];
      const mark = await stack.upstream.mark();
      for (const [method, path, headers] of cases) {
        const res = await b.request(method, path, { headers, typed: true });
        assert.equal(res.status, 200, `${method} ${path} ${JSON.stringify(headers)}`);
        if (method !== 'HEAD') assert.match(res.body, /Sign out\?[\s\S]*<form method="post" action="\/accounts\/logout\/">/);
        assert.equal(await stack.upstream.sessionUser(sid), 'alice', `${method} ${path}: Paperless's session stays`);
        assert.equal((await b.get('/documents/')).status, 200, `${method} ${path}: still signed in`);
      }
      const forwarded = (await stack.upstream.requestsSince(mark)).filter((r) => /logout/i.test(decodeURIComponent(r.path)));
      assert.deepEqual(forwarded.map((r) => r.path), [], 'no logout reached Paperless');
      // The confirm page's button: a POST from our own page.
      const res = await b.request('POST', '/accounts/logout/', { headers: [['Origin', stack.gateway.url]] });
      assert.equal(res.status, 303);
      assert.equal(await stack.upstream.sessionUser(sid), undefined);
      assert.equal((await b.get('/documents/')).status, 302);
    });

    it('the sign-in page says "signed out" only when nobody is, and shows Paperless\'s share-link notices', async () => {
      const b = stack.browser();
      await b.login('bob', 'bob-pass');
      const page = await b.get('/accounts/login/?loggedout=1&next=/documents/');
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.body, /You have been signed out/);
      assert.match(page.body, /You are already signed in\. <strong>bob<\/strong>/);
      assert.match(page.body, /href="\/documents\/"/);
      assert.match(page.body, /<details class="other-account" id="other-account"><summary>Sign in as someone else<\/summary>\s*<form method="post" action="\/accounts\/login\/"/, 'no open, empty sign-in form beside it: folded away');
      const notFound = await stack.browser().get('/accounts/login/?sharelink_notfound=1');
      assert.match(notFound.body, /<p class="error" role="alert" id="share-link">This share link does not exist\./, 'a refusal, not a success');
      const expired = await stack.browser().get('/accounts/login/?sharelink_expired=1');
      assert.match(expired.body, /<p class="error" role="alert" id="share-link">This share link has expired\./);
      assert.match(expired.body, /<\/div>\s*<form method="post" action="\/accounts\/login\/"/, 'not signed in: the form is there, open');
      // Following an unknown link through the gateway ends there.
      const followed = await stack.browser().get('/share/nothinghere');
      assert.equal(followed.headers.location, '/accounts/login/?sharelink_notfound=1');
    });

    it('share links: served without sign-in and without any identity; an unknown one lands on the sign-in page', async () => {
      await stack.upstream.addShareLink('e2eshare');
      const mark = await stack.upstream.mark();
      const ok = await stack.browser().get('/share/e2eshare', { headers: [['Remote-User', 'admin']] });
      assert.equal(ok.status, 200);
      assert.equal(ok.body, 'shared document e2eshare');
      const [seen] = await stack.upstream.requestsSince(mark);
      assert.equal(seen?.remoteUser, undefined);
      assert.equal(seen?.user, undefined);
      const unknown = await stack.browser().get('/share/nothing');
      assert.equal(unknown.status, 302);
      assert.equal(unknown.headers.location, '/accounts/login/?sharelink_notfound=1');
    });
  });

  describe(`end to end, apps and scripts (${kind})`, () => {
    let stack: UpstreamStack;
    before(async () => {
      stack = await startStackOn(kind, { upstream: { enableRemoteUserApi: true }, env: { GATEWAY_PROVISIONING_FILE: mappingFile() } });
    });
    after(async () => stack?.stop());

    it("app sign-in at /api/token/ with the directory password returns the user's own Paperless token, which Paperless accepts", async () => {
      const app = new Browser(stack.gateway.url);
      const res = await app.post('/api/token/', { username: 'alice', password: 'alice-pass' });
      assert.equal(res.status, 200, res.body);
      const { token } = JSON.parse(res.body) as { token: string };
      assert.equal(token, await stack.upstream.tokenFor('alice'));
      const mark = await stack.upstream.mark();
      const docs = await new Browser(stack.gateway.url).get('/api/documents/', { headers: [['Authorization', `Token ${token}`], ['Accept', 'application/json; version=9']] });
      assert.equal(docs.status, 200, docs.body);
      const seen = (await stack.upstream.requestsSince(mark)).find((r) => r.path === '/api/documents/');
      assert.equal(seen?.user, 'alice');
      assert.equal(seen?.remoteUser, undefined, 'a token client is forwarded without the identity header');
      const wrong = await app.post('/api/token/', { username: 'alice', password: 'wrong' });
      assert.equal(wrong.status, 400);
    });

    it('Basic with the directory password reaches Paperless as that user, without the Authorization header', async () => {
      const mark = await stack.upstream.mark();
      const res = await new Browser(stack.gateway.url).get('/api/ui_settings/', { headers: [['Authorization', basic('carol', 'carol-pass')]] });
      assert.equal(res.status, 200, res.body);
      assert.equal((JSON.parse(res.body) as { user: { username: string } }).user.username, 'carol');
      const seen = (await stack.upstream.requestsSince(mark)).find((r) => r.path === '/api/ui_settings/');
      assert.equal(seen?.user, 'carol');
      assert.equal(seen?.rawHeaders.some(([k]) => k.toLowerCase() === 'authorization'), false);
      const wrong = await new Browser(stack.gateway.url).get('/api/ui_settings/', { headers: [['Authorization', basic('carol', 'nope')]] });
      assert.equal(wrong.status, 401);
    });

    it('API calls without credentials get the gateway 401 (the UI reloads on it), never Paperless', async () => {
      const mark = await stack.upstream.mark();
      const res = await new Browser(stack.gateway.url).get('/api/documents/');
      assert.equal(res.status, 401);
      assert.deepEqual(await stack.upstream.requestsSince(mark), []);
    });

    it('a session status message reaches the websocket of its owner only', async () => {
      const [alice, bob] = [stack.browser(), stack.browser()];
      for (const [b, user] of [[alice, 'alice'], [bob, 'bob']] as const) {
        await b.login(user, `${user}-pass`);
        await b.get('/');
      }
      const url = stack.gateway.url.replace('http', 'ws') + '/ws/status/';
      const [a, o] = [await openSocket(url, { Cookie: bob.cookieHeader() }), await openSocket(url, { Cookie: alice.cookieHeader() })];
      assert.ok(a.ws && o.ws);
      const bobGot = nextMessage(a.ws, 1000).then(() => true, () => false);
      const aliceGot = nextMessage(o.ws);
      // alice is a superuser (mapping): she sees bob's too; bob must not see alice's.
      await stack.upstream.sendStatus('alice', 'WORKING');
      assert.equal(((await aliceGot) as { data: { status: string } }).data.status, 'WORKING');
      assert.equal(await bobGot, false);
      a.ws.close();
      o.ws.close();
    });
  });
}
