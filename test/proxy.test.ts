import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { paperlessSessionOf } from './support/jar.js';
import type { Browser } from './support/http-client.js';
import type { RecordedRequest } from './support/paperless-sim.js';
import { startStack, type Stack } from './support/stack.js';

const SPELLINGS = ['Remote-User', 'remote-user', 'REMOTE_USER', 'Remote_User', 'REMOTE-USER', 'rEmOtE-uSeR'];

/** Every way a client could smuggle an identity: each spelling, and duplicates of them. */
const SPOOFS: Array<Array<[string, string]>> = [
  ...SPELLINGS.map((name): Array<[string, string]> => [[name, 'admin']]),
  [['Remote-User', 'admin'], ['Remote-User', 'root']],
  [['Remote-User', 'admin'], ['remote_user', 'root'], ['REMOTE-USER', 'evil']],
  [['Remote-User', '']],
];

function identityHeaders(r: RecordedRequest): string[] {
  return r.rawHeaders.filter(([k]) => k.toUpperCase().replace(/-/g, '_') === 'REMOTE_USER').map(([, v]) => v);
}

describe('proxy: identity header, sessions and path classes', () => {
  let stack: Stack;
  let alice: Browser;

  before(async () => {
    stack = await startStack();
    stack.sim.addUser({ username: 'alice', user_permissions: ['view_uisettings', 'add_document', 'view_document'] });
    alice = stack.browser();
    assert.equal((await alice.login('alice', 'alice-pass')).status, 303);
  });
  after(async () => stack?.stop());

  async function lastSeen(send: () => Promise<unknown>): Promise<RecordedRequest | undefined> {
    const before = stack.sim.requests.length;
    await send();
    return stack.sim.requests.slice(before).at(-1);
  }

  for (const [i, spoof] of SPOOFS.entries()) {
    const label = spoof.map(([k, v]) => `${k}: ${v}`).join(', ');

    it(`spoof ${i} (${label}): a logged-in page request carries exactly the session's user`, async () => {
      const seen = await lastSeen(() => alice.get('/documents/', { headers: spoof }));
      assert.ok(seen);
      assert.deepEqual(identityHeaders(seen), ['alice']);
      assert.equal(seen.user, 'alice');
    });

    it(`spoof ${i} (${label}): a logged-in API request carries exactly the session's user`, async () => {
      const seen = await lastSeen(() => alice.get('/api/documents/', { headers: spoof }));
      assert.ok(seen);
      assert.deepEqual(identityHeaders(seen), ['alice']);
    });

    it(`spoof ${i} (${label}): nothing reaches Paperless without a session`, async () => {
      const anon = stack.browser();
      const before = stack.sim.requests.length;
      const page = await anon.get('/documents/', { headers: spoof });
      const api = await anon.get('/api/documents/', { headers: spoof });
      const login = await anon.get('/accounts/login/', { headers: spoof });
      assert.equal(page.status, 302);
      assert.equal(api.status, 401);
      assert.equal(login.status, 200);
      assert.equal(stack.sim.requests.length, before, 'no request reached Paperless');
    });

    it(`spoof ${i} (${label}): a public share link reaches Paperless as nobody`, async () => {
      const seen = await lastSeen(() => stack.browser().get('/share/abc', { headers: spoof }));
      assert.ok(seen);
      assert.equal(seen.path, '/share/abc');
      assert.deepEqual(identityHeaders(seen), []);
      assert.equal(seen.user, undefined);
    });

    it(`spoof ${i} (${label}): a logged-in user's share link and logout carry no identity`, async () => {
      const share = await lastSeen(() => alice.get('/share/xyz', { headers: spoof }));
      assert.ok(share);
      assert.deepEqual(identityHeaders(share), []);
      const other = stack.browser();
      await other.login('bob', 'bob-pass');
      await other.get('/documents/');
      const logout = await lastSeen(() => other.get('/accounts/logout/', { headers: spoof }));
      assert.ok(logout);
      assert.equal(logout.path, '/accounts/logout/');
      assert.deepEqual(identityHeaders(logout), []);
    });
  }

  it('redirects a page request without a session to the login page with next', async () => {
    const res = await stack.browser().get('/documents/?query=tax%20office');
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, `/accounts/login/?next=${encodeURIComponent('/documents/?query=tax%20office')}`);
  });

  it('answers an API request without a session with 401 JSON, never a redirect', async () => {
    const res = await stack.browser().get('/api/ui_settings/');
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Token');
    assert.deepEqual(JSON.parse(res.body), { detail: 'Authentication credentials were not provided.' });
  });

  it('answers an unsafe page request without a session with 401', async () => {
    const res = await stack.browser().request('POST', '/documents/', { body: 'x' });
    assert.equal(res.status, 401);
  });

  it("strips the browser's Paperless sessionid and the gateway cookie from share links", async () => {
    const b = stack.browser();
    b.jar.set('sessionid', 'stolen-or-stale');
    b.jar.set('gateway_session', 'whatever');
    b.jar.set('other', 'kept');
    const seen = await lastSeen(() => b.get('/share/doc1'));
    assert.ok(seen);
    assert.equal(seen.cookies.sessionid, undefined);
    assert.equal(seen.cookies.gateway_session, undefined);
    assert.equal(seen.cookies.other, 'kept');
  });

  it("never forwards the gateway cookie; sends Paperless's session from the jar and the browser's csrftoken", async () => {
    await alice.get('/');
    assert.equal(alice.jar.get('sessionid'), undefined, "Paperless's session cookie stays with the gateway");
    const kept = await paperlessSessionOf(stack.redis.url, alice);
    assert.ok(kept);
    const seen = await lastSeen(() => alice.get('/documents/'));
    assert.ok(seen);
    assert.equal(seen.cookies.gateway_session, undefined);
    assert.equal(seen.cookies.sessionid, kept);
    assert.equal(seen.cookies.csrftoken, alice.jar.get('csrftoken'));
  });

  it("keeps Host and sets X-Forwarded-* itself, ignoring the client's", async () => {
    const seen = await lastSeen(() =>
      alice.get('/documents/', { headers: [['X-Forwarded-For', '6.6.6.6'], ['X-Forwarded-Host', 'evil.example'], ['X-Forwarded-Proto', 'https'], ['Forwarded', 'for=6.6.6.6']] }),
    );
    assert.ok(seen);
    const h = (name: string) => seen.rawHeaders.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
    assert.deepEqual(h('host'), [new URL(stack.gateway.url).host]);
    assert.deepEqual(h('x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(h('x-forwarded-host'), [new URL(stack.gateway.url).host]);
    assert.deepEqual(h('x-forwarded-proto'), ['http']);
    assert.deepEqual(h('forwarded'), []);
  });

  it("passes an upload through Paperless's CSRF rule (Origin, Cookie and X-CSRFToken untouched)", async () => {
    await alice.get('/');
    const token = alice.jar.get('csrftoken');
    assert.ok(token);
    const upload = (headers: Array<[string, string]>) =>
      alice.request('POST', '/api/documents/post_document/', {
        headers: [['Content-Type', 'multipart/form-data; boundary=b'], ...headers],
        body: '--b\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\n\r\npdf bytes\r\n--b--\r\n',
      });
    const ok = await upload([['Origin', stack.gateway.url], ['X-CSRFToken', token]]);
    assert.equal(ok.status, 200, ok.body);
    const noToken = await upload([['Origin', stack.gateway.url]]);
    assert.equal(noToken.status, 403);
    assert.match(noToken.body, /CSRF Failed/);
    const foreign = await upload([['Origin', 'https://evil.example'], ['X-CSRFToken', token]]);
    assert.equal(foreign.status, 403);
    const byReferer = await upload([['Referer', `${stack.gateway.url}/documents/`], ['X-CSRFToken', token]]);
    assert.equal(byReferer.status, 200, 'a same-origin Referer is enough when Origin is missing');
  });

  it('refuses unsafe requests on a session from another origin itself (Paperless skips CSRF for header-authenticated API calls)', async () => {
    const before = stack.sim.requests.length;
    for (const headers of [[['Origin', 'https://evil.example']], [['Referer', 'https://evil.example/x']], [], [['Origin', 'null']]] as Array<Array<[string, string]>>) {
      // Every method but GET, HEAD, OPTIONS and TRACE: WebDAV's and made-up ones too.
      for (const method of ['DELETE', 'POST', 'PUT', 'PATCH', 'PROPPATCH', 'MKCOL', 'PURGE']) {
        const res = await alice.request(method, '/api/documents/1/', { headers });
        assert.equal(res.status, 403, `${method} ${JSON.stringify(headers)}`);
        assert.match(JSON.parse(res.body).detail, /CSRF Failed: Origin checking failed/);
      }
    }
    assert.equal(stack.sim.requests.length, before, 'none reached Paperless');
    assert.equal((await alice.get('/documents/', { headers: [['Origin', 'https://evil.example']] })).status, 200, 'safe methods pass');
  });

  it('adds no Referrer-Policy or CSP to Paperless responses', async () => {
    const res = await alice.get('/documents/');
    assert.equal(res.headers['referrer-policy'], undefined);
    assert.equal(res.headers['content-security-policy'], undefined);
  });

  it('serves its own health endpoint without proxying it', async () => {
    const before = stack.sim.requests.length;
    const res = await stack.browser().get('/_gateway/health');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { status: 'ok' });
    assert.equal(stack.sim.requests.length, before);
  });
});

describe('proxy: a custom identity header name', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_REMOTE_USER_HEADER: 'X-Forwarded-User' }, sim: { remoteUserKey: 'HTTP_X_FORWARDED_USER' } });
  });
  after(async () => stack?.stop());

  it('strips every spelling of the configured header and sets it once', async () => {
    const b = stack.browser();
    await b.login('bob', 'bob-pass');
    const before = stack.sim.requests.length;
    await b.get('/documents/', { headers: [['X-Forwarded-User', 'admin'], ['x_forwarded_user', 'root']] });
    const seen = stack.sim.requests.slice(before).at(-1);
    assert.ok(seen);
    assert.equal(seen.remoteUser, 'bob');
    assert.equal(seen.user, 'bob');
  });
});

describe('proxy: what HTTP allows beyond a plain answer', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    stack.sim.faults.answerWith = undefined;
    await stack?.stop();
  });

  /** A signed-in GET through the gateway, read with node:http so trailers and 1xx show. */
  async function rawGet(path: string, answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ status: number; body: string; trailers: NodeJS.Dict<string>; informational: number[]; links: string[] }> {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    // Paperless answers this way only once alice is in (sign-in talks to its API too).
    stack.sim.faults.answerWith = answer;
    const url = new URL(path, stack.gateway.url);
    return new Promise((resolve, reject) => {
      const informational: number[] = [];
      const links: string[] = [];
      const req = http.get(url, { headers: { Cookie: b.cookieHeader() } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, trailers: res.trailers, informational, links }));
      });
      req.on('information', (info) => {
        informational.push(info.statusCode);
        if (typeof info.headers.link === 'string') links.push(info.headers.link);
      });
      req.on('error', reject);
    });
  }

  it("passes Paperless's trailers on after a chunked body", async () => {
    const res = await rawGet('/api/documents/1/download/', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
      res.write('part one, ');
      res.write('part two');
      res.addTrailers({ 'X-Checksum': 'abc123' });
      res.end();
    });
    stack.sim.faults.answerWith = undefined;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'part one, part two');
    assert.equal(res.trailers['x-checksum'], 'abc123');
  });

  it('passes 103 Early Hints on before the answer', async () => {
    const res = await rawGet('/documents/', (_req, res) => {
      res.writeEarlyHints({ link: '</static/main.css>; rel=preload; as=style' });
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<p>page</p>');
    });
    stack.sim.faults.answerWith = undefined;
    assert.equal(res.status, 200);
    assert.deepEqual(res.informational, [103]);
    assert.deepEqual(res.links, ['</static/main.css>; rel=preload; as=style']);
    assert.equal(res.body, '<p>page</p>');
  });
});
