/**
 * Paperless-ngx 2.x and 3.x side by side: the permission catalogue follows the version Paperless
 * says it is, and the API version is negotiated (contract §8).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { mappingForLine, parseMapping } from '../src/config/mapping.js';
import { lineOf } from '../src/config/permissions.js';
import { runCliToEnd } from './support/gateway.js';
import { paperlessSessionOf } from './support/jar.js';
import { mappingFile } from './support/mapping.js';
import type { RecordedRequest } from './support/paperless-sim.js';
import type { DjangoUpstream } from './support/django-upstream.js';
import { documentUpload, postUpload } from './support/multipart.js';
import { pollUntil } from './support/poll.js';
import { openSocket } from './support/status-socket.js';
import { startStack, startStackOn, type Stack, type UpstreamStack } from './support/stack.js';

/** A mapping written for 3.x: bundles, statistics and monitoring, and the shorthands. */
const MAPPING_3 = `permissions: [viewer]
groups:
  - ldap: paperless-admins
    paperless: Admins
    permissions: [all]
  - ldap: paperless-users
    paperless: Staff
    permissions: [editor, view_global_statistics]
  - ldap: "cn=Accounting\\\\, Tax,ou=groups,dc=example,dc=com"
    paperless: Accounting
    permissions: [add_sharelinkbundle, view_system_monitoring]
`;

const acceptOf = (r: RecordedRequest) => r.rawHeaders.find(([k]) => k.toLowerCase() === 'accept')?.[1];
const tokenCalls = (stack: Stack) => stack.sim.requests.filter((r) => r.rawHeaders.some(([k, v]) => k.toLowerCase() === 'authorization' && v.startsWith('Token ')));

/** alice signs in, the headless API sees her, and DELETE on its session ends the gateway's and Paperless's. */
async function headlessLogoutEndsBoth(stack: UpstreamStack): Promise<void> {
  const b = stack.browser();
  await b.login('alice', 'alice-pass');
  await b.get('/');
  const sid = (await paperlessSessionOf(stack.redis.url, b)) ?? '';
  assert.equal(await stack.upstream.sessionUser(sid), 'alice');
  const session = '/api/auth/headless/browser/v1/auth/session';
  const seen = await b.get(session);
  assert.equal(seen.status, 200, seen.body);
  assert.equal((JSON.parse(seen.body) as { data: { user: { username: string } } }).data.user.username, 'alice');
  const res = await b.request('DELETE', session, { headers: [['X-CSRFToken', b.jar.get('csrftoken') ?? '']] });
  assert.equal(res.status, 401);
  assert.deepEqual(JSON.parse(res.body), { status: 401, data: { flows: [{ id: 'login' }] }, meta: { is_authenticated: false } });
  assert.equal(await stack.upstream.sessionUser(sid), undefined, "Paperless's session is flushed");
  assert.equal((await b.get('/documents/')).status, 302, 'the gateway session is gone');
}

describe('a mapping written for Paperless 3.x', () => {
  it('is accepted at load (every line is known), and a typo still is not', () => {
    assert.doesNotThrow(() => parseMapping(MAPPING_3, 'm.yaml'));
    assert.throws(() => parseMapping('permissions: [add_sharelinkbundel]', 'm.yaml'), /permissions: unknown permission "add_sharelinkbundel"/);
  });

  it('shorthands mean what the line has: all and editor grow on 3.x, and 2.x never gets a 3.x codename', () => {
    const mapping = parseMapping('groups:\n  - ldap: a\n    permissions: [all]\n  - ldap: e\n    permissions: [editor]\n', 'm.yaml');
    const on2 = mappingForLine(mapping, 2, '2.20.15');
    const on3 = mappingForLine(mapping, 3, '3.0.5');
    const [all2, editor2] = on2.groups.map((g) => g.permissions) as [string[], string[]];
    const [all3, editor3] = on3.groups.map((g) => g.permissions) as [string[], string[]];
    assert.ok(!all2.some((p) => /sharelinkbundle|global_statistics|system_monitoring/.test(p)));
    assert.deepEqual(all3.filter((p) => !all2.includes(p)).sort(), ['add_sharelinkbundle', 'change_sharelinkbundle', 'delete_sharelinkbundle', 'view_global_statistics', 'view_sharelinkbundle', 'view_system_monitoring']);
    assert.deepEqual(editor3.filter((p) => !editor2.includes(p)).sort(), ['add_sharelinkbundle', 'change_sharelinkbundle', 'delete_sharelinkbundle', 'view_sharelinkbundle']);
    assert.equal(lineOf('3.0.5'), 3);
    assert.equal(lineOf('2.20.15'), 2);
    assert.equal(lineOf(undefined), 2);
  });

  describe('on Paperless 3.0.5', () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ sim: { line: 3 }, env: { GATEWAY_PROVISIONING_FILE: mappingFile(MAPPING_3) } });
    });
    after(async () => stack?.stop());

    const group = (name: string) => stack.sim.groups.find((g) => g.name === name)?.permissions ?? [];

    it('provisions bundles, statistics and monitoring; editor and all include what 3.x added', async () => {
      assert.equal((await stack.browser().login('alice', 'alice-pass')).status, 303);
      assert.equal((await stack.browser().login('bob', 'bob-pass')).status, 303);
      const admins = group('Admins');
      for (const p of ['add_sharelinkbundle', 'view_sharelinkbundle', 'view_global_statistics', 'view_system_monitoring', 'view_document']) assert.ok(admins.includes(p), `all has ${p}`);
      const staff = group('Staff');
      for (const p of ['add_sharelinkbundle', 'change_sharelinkbundle', 'delete_sharelinkbundle', 'view_sharelinkbundle', 'view_global_statistics']) assert.ok(staff.includes(p), `editor + statistics has ${p}`);
      assert.ok(!staff.includes('view_system_monitoring'));
      assert.deepEqual(group('Accounting'), ['add_sharelinkbundle', 'view_system_monitoring']);
      assert.ok(stack.sim.user('bob')?.user_permissions.includes('view_sharelinkbundle'), 'viewer includes the bundles on 3.x');
    });

    it('negotiates API version 10 after the first answer, which said 3.x knows it', () => {
      const calls = tokenCalls(stack);
      assert.equal(acceptOf(calls[0] as RecordedRequest), 'application/json; version=9', 'the first call speaks what every Paperless knows');
      assert.ok(calls.length > 1);
      for (const r of calls.slice(1)) assert.equal(acceptOf(r), 'application/json; version=10', `${r.method} ${r.path}`);
    });

    it("allauth's headless logout, for browsers and apps, ends the gateway session and Paperless's", async () => {
      await headlessLogoutEndsBoth(stack);

      const app = stack.browser();
      await app.login('alice', 'alice-pass');
      const before = stack.sim.requests.length;
      const ended = await app.request('DELETE', '/api/auth/headless/app/v1/auth/session', { headers: [['X-Session-Token', 'app-session-1']] });
      assert.equal(ended.status, 401);
      assert.equal((await app.get('/documents/')).status, 302, 'the gateway session is gone');
      const sent = stack.sim.requests.slice(before).find((r) => r.method === 'DELETE' && r.path === '/api/auth/headless/app/v1/auth/session');
      assert.ok(sent, "the app's session token went to Paperless");
      assert.ok(sent.rawHeaders.some(([k, v]) => k.toLowerCase() === 'x-session-token' && v === 'app-session-1'));
      assert.equal(sent.remoteUser, undefined, 'without the identity header, which would sign the user back in');
    });

    it('check-config names the version and passes the mapping', async () => {
      const { code, stdout } = await runCliToEnd(['check-config'], stack.gateway.env);
      assert.equal(code, 0, stdout);
      assert.match(stdout, /✔ Paperless version and mapping: Paperless 3\.0\.5, API version 10; the mapping's permissions all exist there/);
    });
  });

  describe('on Paperless 2.20.15', () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack({ env: { GATEWAY_PROVISIONING_FILE: mappingFile(MAPPING_3) } });
    });
    after(async () => stack?.stop());

    it('is refused with a message that names the version and each missing permission; nobody is signed in', async () => {
      const b = stack.browser();
      const res = await b.login('bob', 'bob-pass');
      assert.equal(res.status, 502);
      assert.match(res.body, /group mapping of the gateway does not fit this Paperless version/);
      assert.equal((await b.get('/api/ui_settings/')).status, 401, 'no session was made');
      assert.equal(stack.sim.user('bob'), undefined, 'nothing was written');
      const logged = stack.gateway.logs.join('\n');
      assert.match(logged, /Paperless 2\.20\.15 has no permission \\"add_sharelinkbundle\\" \(it is a Paperless 3\.x permission\)/);
      assert.match(logged, /Paperless 2\.20\.15 has no permission \\"view_global_statistics\\"/);
    });

    it('keeps API version 9, and check-config fails naming the version', async () => {
      for (const r of tokenCalls(stack)) assert.equal(acceptOf(r), 'application/json; version=9');
      const { code, stdout } = await runCliToEnd(['check-config'], stack.gateway.env);
      assert.equal(code, 1, stdout);
      assert.match(stdout, /✘ Paperless version and mapping: Paperless 2\.20\.15, API version 9: groups\.1\.permissions: Paperless 2\.20\.15 has no permission "view_global_statistics"/);
    });

  });
});

describe("Paperless 3.x's own stack (the Django upstream in 3.0.5 mode)", () => {
  let stack: UpstreamStack;
  let django: DjangoUpstream;
  before(async () => {
    stack = await startStackOn('django', { upstream: { line: 3, enableRemoteUserApi: true, aiEnabled: true }, env: { GATEWAY_PROVISIONING_FILE: mappingFile(MAPPING_3) } });
    django = stack.upstream as DjangoUpstream;
  });
  after(async () => stack?.stop());

  it('provisions the 3.x permissions through the real serializers, speaking API version 10', async () => {
    const mark = await django.mark();
    assert.equal((await stack.browser().login('bob', 'bob-pass')).status, 303);
    const bob = await django.user('bob');
    assert.ok(bob?.user_permissions.includes('view_sharelinkbundle'));
    const sent = (await django.requestsSince(mark)).filter((r) => r.path.startsWith('/api/users/') || r.path.startsWith('/api/groups/'));
    assert.ok(sent.length > 0);
    for (const r of sent) assert.equal(acceptOf(r), 'application/json; version=10', `${r.method} ${r.path}`);
  });

  it("allauth's headless session endpoint sees the user, and its DELETE ends both sessions", async () => {
    await headlessLogoutEndsBoth(stack);
  });

  it("app sign-ins are answered by the gateway, so 3.x's five-a-minute /api/token/ throttle never counts them", async () => {
    const mark = await django.mark();
    for (let i = 0; i < 7; i++) {
      const res = await stack.browser().request('POST', '/api/token/', { body: 'username=alice&password=alice-pass', headers: [['Content-Type', 'application/x-www-form-urlencoded']] });
      assert.equal(res.status, 200, `sign-in ${i + 1}: ${res.body}`);
    }
    assert.deepEqual((await django.requestsSince(mark)).filter((r) => r.path === '/api/token/'), [], 'none reached Paperless');
  });

  it('document_updated, the 3.x websocket message, reaches the owner through the gateway', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    await b.get('/');
    const { ws, status } = await openSocket(stack.gateway.url.replace('http', 'ws') + '/ws/status/', { Cookie: b.cookieHeader(), Origin: stack.gateway.url });
    assert.ok(ws, `websocket refused with ${status}`);
    const messages: Array<{ type: string; data: { document_id: number | null } }> = [];
    ws.on('message', (d: Buffer) => messages.push(JSON.parse(d.toString()) as (typeof messages)[number]));
    assert.equal((await postUpload(stack.gateway.url, b, documentUpload(65536, { filename: 'scan.pdf' }))).status, 200);
    await pollUntil(async () => messages.some((m) => m.data.document_id !== null), 'the upload is reported with its document', 100, 50);
    const id = messages.find((m) => m.data.document_id !== null)?.data.document_id;
    const patched = await b.request('PATCH', `/api/documents/${id}/?version=1`, {
      headers: [['Content-Type', 'application/json'], ['X-CSRFToken', b.jar.get('csrftoken') ?? ''], ['Origin', stack.gateway.url]],
      body: JSON.stringify({ title: 'renamed' }),
    });
    assert.equal(patched.status, 200, patched.body);
    await pollUntil(async () => messages.some((m) => m.type === 'document_updated'), 'document_updated arrives', 100, 50);
    assert.equal(messages.find((m) => m.type === 'document_updated')?.data.document_id, id);
    ws.close();
  });

  /** Reads a server-sent-event stream through the gateway, releasing one event at a time. */
  async function eventsOneByOne(headers: Record<string, string>): Promise<void> {
    const gateway = new URL(stack.gateway.url);
    // Headers may travel with the first event, so that one is let go before asking.
    await django.releaseChatEvent();
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({ host: gateway.hostname, port: gateway.port, method: 'POST', path: '/api/documents/chat/', headers: { 'Accept-Encoding': 'gzip, br', 'Content-Type': 'application/json', ...headers } }, resolve);
      req.on('error', reject);
      req.end('{"q":"what is this?"}');
    });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    assert.equal(res.headers['content-encoding'], undefined, 'never compressed');
    let received = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (received += chunk));
    const ended = new Promise((resolve) => res.once('end', resolve));
    for (const n of [1, 2, 3]) {
      if (n > 1) await django.releaseChatEvent();
      await pollUntil(async () => received.includes(`"event": ${n}`), `event ${n} arrives before the next is released`, 250, 20);
      assert.ok(!received.includes(`"event": ${n + 1}`));
    }
    await ended;
  }

  it('chat answers stream through event by event, unbuffered and uncompressed: browser, Basic and token', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    await b.get('/');
    await django.resetChat();
    await eventsOneByOne({ Cookie: b.cookieHeader(), 'X-CSRFToken': b.jar.get('csrftoken') ?? '', Origin: stack.gateway.url });
    await django.resetChat();
    await eventsOneByOne({ Authorization: `Basic ${Buffer.from('alice:alice-pass').toString('base64')}` });
    await django.resetChat();
    const token = JSON.parse((await stack.browser().request('POST', '/api/token/', { body: 'username=alice&password=alice-pass', headers: [['Content-Type', 'application/x-www-form-urlencoded']] })).body) as { token: string };
    await eventsOneByOne({ Authorization: `Token ${token.token}` });
  });
});
