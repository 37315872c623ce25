import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { userDn } from './support/directory-data.js';
import { Browser } from './support/http-client.js';
import { mappingFile } from './support/mapping.js';
import type { RecordedRequest } from './support/paperless-sim.js';
import { startStack, type Stack } from './support/stack.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const identity = (r: RecordedRequest | undefined) => r?.rawHeaders.filter(([k]) => k.toUpperCase().replace(/-/g, '_') === 'REMOTE_USER').map(([, v]) => v);
const header = (r: RecordedRequest | undefined, name: string) => r?.rawHeaders.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);

describe('API and mobile clients', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      env: { GATEWAY_PROVISIONING_FILE: mappingFile(), GATEWAY_API_BASIC_AUTH_CACHE_TTL: '1s' },
      sim: { enableRemoteUserApi: true },
    });
  });
  after(async () => stack?.stop());

  const lastTo = (path: string) => stack.sim.requestsTo(path).at(-1);
  const app = () => new Browser(stack.gateway.url);

  it('mobile-app flow: POST /api/token/ with the directory password, then the token on the API', async () => {
    const res = await app().post('/api/token/', { username: 'alice', password: 'alice-pass' });
    assert.equal(res.status, 200, res.body);
    const { token } = JSON.parse(res.body) as { token: string };
    assert.match(token, /^[0-9a-f]{40}$/);
    assert.equal(stack.sim.tokens.get(token), stack.sim.user('alice')?.id, "it is alice's own Paperless token");
    const docs = await app().get('/api/documents/', { headers: [['Authorization', `Token ${token}`]] });
    assert.equal(docs.status, 200, docs.body);
    const seen = lastTo('/api/documents/');
    assert.equal(seen?.user, 'alice');
    assert.deepEqual(identity(seen), [], 'a token request carries no identity header');
  });

  it('a second app login returns the same token (no rotation), and JSON bodies work too', async () => {
    const first = JSON.parse((await app().post('/api/token/', { username: 'alice', password: 'alice-pass' })).body).token;
    const second = await app().request('POST', '/api/token/', {
      headers: [['Content-Type', 'application/json']],
      body: JSON.stringify({ username: 'ALICE', password: 'alice-pass' }),
    });
    assert.equal(JSON.parse(second.body).token, first);
  });

  it('wrong and empty passwords answer like Paperless', async () => {
    const wrong = await app().post('/api/token/', { username: 'alice', password: 'nope' });
    assert.equal(wrong.status, 400);
    assert.deepEqual(JSON.parse(wrong.body), { non_field_errors: ['Unable to log in with provided credentials.'] });
    const unknown = await app().post('/api/token/', { username: 'nobody', password: 'nope' });
    assert.deepEqual(JSON.parse(unknown.body), JSON.parse(wrong.body));
    const empty = await app().post('/api/token/', { username: 'alice', password: '' });
    assert.equal(empty.status, 400);
    assert.deepEqual(JSON.parse(empty.body), { password: ['This field is required.'] });
  });

  it("token pass-through strips spoofed identity headers and the browser's Paperless session", async () => {
    const token = stack.sim.tokenFor('bob');
    const b = app();
    b.jar.set('sessionid', 'somebody-elses');
    const res = await b.get('/api/documents/', { headers: [['Authorization', `Token ${token}`], ['Remote-User', 'alice'], ['remote_user', 'admin']] });
    const seen = lastTo('/api/documents/');
    assert.deepEqual(identity(seen), []);
    assert.equal(seen?.cookies.sessionid, undefined);
    assert.equal(seen?.user, 'bob');
    assert.equal(res.status, 403, 'bob has no view_document: Paperless judged the token itself');
  });

  it("a bad token gets Paperless's own answer (403, as DRF gives it behind SessionAuthentication), passed through", async () => {
    const res = await app().get('/api/documents/', { headers: [['Authorization', 'Token nonsense']] });
    assert.equal(res.status, 403);
    assert.deepEqual(JSON.parse(res.body), { detail: 'Invalid token.' });
  });

  it('Basic auth: checked against the directory, forwarded with the identity header and without Authorization', async () => {
    const res = await app().get('/api/documents/', { headers: [['Authorization', basic('alice', 'alice-pass')], ['Remote-User', 'admin']] });
    assert.equal(res.status, 200, res.body);
    const seen = lastTo('/api/documents/');
    assert.deepEqual(identity(seen), ['alice']);
    assert.deepEqual(header(seen, 'authorization'), []);
    const wrong = await app().get('/api/documents/', { headers: [['Authorization', basic('alice', 'wrong')]] });
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.headers['www-authenticate']), /^Basic realm="Paperless"/);
    assert.deepEqual(JSON.parse(wrong.body), { detail: 'Invalid username/password.' });
  });

  it('Basic with a foreign Origin or Referer on an unsafe request: 403 with the reason, before Paperless sees it', async () => {
    const own = stack.gateway.url;
    const send = (method: string, headers: Array<[string, string]>) =>
      app().request(method, '/api/documents/post_document/', { headers: [['Authorization', basic('bob', 'bob-pass')], ['Content-Type', 'application/json'], ...headers], body: '{}' });
    for (const [method, headers] of [
      ['POST', [['Origin', 'https://evil.example']]],
      ['DELETE', [['Referer', 'https://evil.example/page']]],
      ['PUT', [['Origin', 'null']]],
      ['PATCH', [['Origin', 'https://evil.example'], ['Referer', `${own}/documents/`]]],
    ] as Array<[string, Array<[string, string]>]>) {
      const before = stack.sim.requests.length;
      const res = await send(method, headers);
      assert.equal(res.status, 403, `${method} ${JSON.stringify(headers)}`);
      assert.match(JSON.parse(res.body).detail, /^CSRF Failed: Origin checking failed - .* does not match http:\/\/127\.0\.0\.1:\d+\.$/);
      assert.equal(stack.sim.requests.length, before, 'Paperless saw nothing');
    }
    // Scripts send no Origin, and the gateway's own pages send their own: both pass to Paperless.
    for (const headers of [[], [['Origin', own]], [['Referer', `${own}/documents/`]]] as Array<Array<[string, string]>>) {
      const res = await send('POST', headers);
      assert.notEqual(res.status, 401);
      assert.notEqual(res.status, 403, res.body);
      assert.deepEqual(identity(lastTo('/api/documents/post_document/')), ['bob']);
    }
    // Reading is safe from any origin, as for sessions.
    const read = await app().get('/api/documents/', { headers: [['Authorization', basic('bob', 'bob-pass')], ['Origin', 'https://evil.example']] });
    assert.notEqual(read.status, 403);
  });

  it('a wrong Basic password from a browser gets no Basic challenge (no prompt, no cached password); scripts keep it', async () => {
    const wrong = (headers: Array<[string, string]>) => app().get('/api/documents/', { headers: [['Authorization', basic('bob', 'wrong')], ...headers] });
    for (const headers of [
      [['Sec-Fetch-Mode', 'cors']],
      [['Sec-Fetch-Site', 'same-origin']],
      [['Origin', stack.gateway.url]],
      [['X-Requested-With', 'XMLHttpRequest']],
      [['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0'], ['Accept', 'text/html,application/xhtml+xml,*/*;q=0.8']],
    ] as Array<Array<[string, string]>>) {
      const res = await wrong(headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers['www-authenticate'], 'Token', `no Basic challenge for ${JSON.stringify(headers)}`);
      assert.deepEqual(JSON.parse(res.body), { detail: 'Invalid username/password.' });
    }
    for (const headers of [[], [['User-Agent', 'curl/8.5.0'], ['Accept', '*/*']], [['User-Agent', 'python-requests/2.32.3']], [['User-Agent', 'Mozilla/5.0'], ['Accept', 'application/json']]] as Array<Array<[string, string]>>) {
      const res = await wrong(headers);
      assert.equal(res.status, 401);
      assert.match(String(res.headers['www-authenticate']), /^Basic realm="Paperless"/, `scripts keep the challenge: ${JSON.stringify(headers)}`);
    }
  });

  it('made-up tokens: a few owner lookups at once per client, the rest 503 with a reason; many requests with one token share one lookup', async () => {
    const lookups = () => stack.sim.requestsTo('/api/ui_settings/').filter((r) => r.rawHeaders.some(([k, v]) => k.toLowerCase() === 'authorization' && v.startsWith('Token '))).length;
    const send = (token: string) => app().get('/api/documents/', { headers: [['Authorization', `Token ${token}`]] });
    stack.sim.faults.delayMs = 1500;
    try {
      const before = lookups();
      const answers = await Promise.all(Array.from({ length: 10 }, () => send(randomBytes(20).toString('hex'))));
      const limited = answers.filter((r) => r.status === 503);
      assert.equal(limited.length, 6, answers.map((r) => r.status).join(' '));
      assert.match(JSON.parse(limited[0]?.body ?? '{}').detail, /^Too many new tokens are being checked at once from your address/);
      assert.equal(limited[0]?.headers['retry-after'], '1');
      assert.equal(lookups() - before, 4, 'Paperless was asked about four tokens only');

      const shared = stack.sim.tokenFor('printer');
      const again = lookups();
      const same = await Promise.all(Array.from({ length: 10 }, () => send(shared)));
      assert.ok(same.every((r) => r.status !== 503), same.map((r) => r.status).join(' '));
      assert.equal(lookups() - again, 1, 'one lookup for ten requests with the same token');
    } finally {
      stack.sim.faults.delayMs = 0;
    }
  });

  it('Basic cache: a password changed in LDAP stops working once the TTL has passed', async () => {
    const get = (password: string) => app().get('/api/documents/', { headers: [['Authorization', basic('alice', password)]] });
    assert.equal((await get('alice-pass')).status, 200);
    const cached = Date.now();
    await stack.slapd.ldapadd(`dn: ${userDn('alice')}\nchangetype: modify\nreplace: userPassword\nuserPassword: alice-new\n`, true);
    assert.equal((await get('alice-pass')).status, 200, 'still cached');
    // Until the cache's TTL (1 s) since the entry was made has passed: an in-memory cache (this process, this clock).
    await new Promise((r) => setTimeout(r, Math.max(0, cached + 1001 - Date.now())));
    assert.equal((await get('alice-pass')).status, 401, 'the old password no longer works');
    assert.equal((await get('alice-new')).status, 200);
  });

  it('no credentials at all: 401 JSON before Paperless sees anything, spoofed header or not', async () => {
    const before = stack.sim.requests.length;
    const res = await app().get('/api/documents/', { headers: [['Remote-User', 'alice']] });
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Token');
    assert.equal(stack.sim.requests.length, before);
  });
});

describe('app sign-in with Paperless API header mode off', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_API_BASIC_AUTH: 'false' } });
  });
  after(async () => stack?.stop());

  it('says clearly which Paperless setting is missing', async () => {
    const res = await new Browser(stack.gateway.url).post('/api/token/', { username: 'alice', password: 'alice-pass' });
    assert.equal(res.status, 502);
    assert.match(JSON.parse(res.body).detail, /PAPERLESS_ENABLE_HTTP_REMOTE_USER_API=true/);
    assert.ok(stack.gateway.logs.some((l) => l.includes('set PAPERLESS_ENABLE_HTTP_REMOTE_USER_API=true')));
  });

  it('with Basic auth off, Basic credentials get the plain 401', async () => {
    const res = await new Browser(stack.gateway.url).get('/api/documents/', { headers: [['Authorization', basic('alice', 'alice-pass')]] });
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Token');
  });
});
