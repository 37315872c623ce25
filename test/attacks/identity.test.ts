/**
 * Identity spoofing on every path class: whatever a client sends, Paperless
 * sees either no identity header or exactly the one the gateway set.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browser } from '../support/http-client.js';
import type { RecordedRequest } from '../support/paperless-sim.js';
import { startStackOn, type UpstreamStack } from '../support/stack.js';
import { openSocket } from '../support/status-socket.js';
import { upstreamKinds } from '../support/upstream.js';

const SPOOF: Array<[string, string]> = [['Remote-User', 'admin'], ['remote_user', 'root'], ['REMOTE-USER', 'evil']];
const identity = (r: RecordedRequest) => r.rawHeaders.filter(([k]) => k.toUpperCase().replace(/-/g, '_') === 'REMOTE_USER').map(([, v]) => v);

for (const kind of upstreamKinds()) describe(`attack: identity spoofing on every path class (${kind})`, () => {
  let stack: UpstreamStack;
  let alice: Browser;
  before(async () => {
    stack = await startStackOn(kind, { upstream: { enableRemoteUserApi: true } });
    await stack.upstream.addShareLink('x');
    alice = stack.browser();
    await alice.login('alice', 'alice-pass');
    await alice.get('/');
  });
  after(async () => stack?.stop());

  /** What reached Paperless meanwhile, leaving out the gateway's own provisioning calls (its superuser token). */
  async function seen(send: () => Promise<unknown>): Promise<RecordedRequest[]> {
    const provisioning = `Token ${await stack.upstream.tokenFor('gateway-admin')}`;
    const start = await stack.upstream.mark();
    await send();
    const requests = await stack.upstream.requestsSince(start);
    return requests.filter((r) => !r.rawHeaders.some(([k, v]) => k.toLowerCase() === 'authorization' && v === provisioning));
  }

  it('sign-in page: nothing reaches Paperless', async () => {
    assert.deepEqual(await seen(() => stack.browser().get('/accounts/login/', { headers: SPOOF })), []);
  });

  it('public share link: forwarded with no identity', async () => {
    const rs = await seen(() => stack.browser().get('/share/x', { headers: SPOOF }));
    assert.deepEqual(rs.map(identity), [[]]);
  });

  it('token API: forwarded with no identity', async () => {
    const token = await stack.upstream.tokenFor('bob');
    const rs = await seen(() => new Browser(stack.gateway.url).get('/api/documents/', { headers: [['Authorization', `Token ${token}`], ...SPOOF] }));
    // The gateway may first ask Paperless whose token it is (/api/ui_settings/ with the token): no
    // identity on that either.
    assert.deepEqual(rs.map(identity), rs.map(() => []));
    assert.equal(rs.at(-1)?.path, '/api/documents/');
    assert.equal(rs.at(-1)?.user, 'bob');
  });

  it('Basic API: forwarded as the verified user only, Authorization removed', async () => {
    const basic = `Basic ${Buffer.from('carol:carol-pass').toString('base64')}`;
    const rs = await seen(() => new Browser(stack.gateway.url).get('/api/ui_settings/', { headers: [['Authorization', basic], ...SPOOF] }));
    const last = rs.at(-1);
    assert.ok(last);
    assert.deepEqual(identity(last), ['carol']);
    assert.equal(last.rawHeaders.some(([k]) => k.toLowerCase() === 'authorization'), false);
  });

  it('session page and API: exactly the session user', async () => {
    const rs = await seen(async () => {
      await alice.get('/documents/', { headers: SPOOF });
      await alice.get('/api/ui_settings/', { headers: SPOOF });
    });
    assert.deepEqual(rs.map(identity), [['alice'], ['alice']]);
  });

  it('websocket: exactly the session user; without a session, refused before Paperless', async () => {
    const url = stack.gateway.url.replace('http', 'ws') + '/ws/status/';
    const rs = await seen(async () => {
      const { ws, status } = await openSocket(url, { Cookie: alice.cookieHeader(), ...Object.fromEntries(SPOOF) });
      assert.ok(ws, `refused with ${status}`);
      ws.close();
    });
    assert.deepEqual(rs.map(identity), [['alice']]);
    assert.equal(rs[0]?.user, 'alice', 'Channels authenticated the session user');
    const anon = await seen(async () => {
      const { ws } = await openSocket(url, Object.fromEntries(SPOOF));
      assert.equal(ws, undefined);
    });
    assert.deepEqual(anon, []);
  });

  it('logout and error responses: no identity forwarded', async () => {
    const b = stack.browser();
    await b.login('bob', 'bob-pass');
    await b.get('/');
    const rs = await seen(() => b.get('/accounts/logout/', { headers: SPOOF }));
    assert.deepEqual(rs.map(identity), [[]]);
    const unknown = await seen(() => stack.browser().get('/api/nope/', { headers: SPOOF }));
    assert.deepEqual(unknown, [], 'a 401 for an unknown API path reaches nothing');
  });
});
