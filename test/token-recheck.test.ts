/**
 * Paperless tokens end with the person: a token an app got through the gateway's /api/token/, or
 * one made in Paperless itself, stops within GATEWAY_LDAP_RECHECK_INTERVAL once the directory no
 * longer lets its person in, and the person is deactivated in Paperless at once (so the token
 * stops on requests that bypass the gateway too). Local accounts' tokens pass as before.
 * On the simulator and on Django's real auth stack.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { groupDn, userDn } from './support/directory-data.js';
import { Browser, type Reply } from './support/http-client.js';
import { mappingFile } from './support/mapping.js';
import { startStackOn, type UpstreamStack } from './support/stack.js';
import { upstreamKinds } from './support/upstream.js';

const INTERVAL_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Past the re-check interval, so the next request asks the directory again. */
const pastInterval = () => sleep(INTERVAL_MS + 150);

for (const kind of upstreamKinds()) {
  describe(`Paperless tokens follow the directory (${kind})`, () => {
    let stack: UpstreamStack;
    before(async () => {
      stack = await startStackOn(kind, {
        upstream: { enableRemoteUserApi: true },
        env: {
          GATEWAY_PROVISIONING_FILE: mappingFile(),
          GATEWAY_LDAP_RECHECK_INTERVAL: `${INTERVAL_MS}ms`,
          GATEWAY_LDAP_ALLOWED_GROUPS: 'paperless-users',
          GATEWAY_LOG_LEVEL: 'debug',
        },
      });
    });
    after(async () => stack?.stop());

    const app = () => new Browser(stack.gateway.url);
    const get = (token: string): Promise<Reply> => app().get('/api/documents/', { headers: [['Authorization', `Token ${token}`]] });
    const post = (token: string): Promise<Reply> =>
      app().request('POST', '/api/documents/post_document/', { headers: [['Authorization', `Token ${token}`], ['Content-Type', 'application/json']], body: '{}' });
    const direct = (token: string) => fetch(`${stack.upstream.url}/api/documents/`, { headers: { Authorization: `Token ${token}`, Accept: 'application/json; version=9' } });

    const addPerson = async (uid: string): Promise<void> => {
      await stack.slapd.ldapadd(`dn: ${userDn(uid)}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nuserPassword: ${uid}-pass\n`);
      await stack.slapd.ldapadd(`dn: ${groupDn('paperless-users')}\nchangetype: modify\nadd: member\nmember: ${userDn(uid)}\n`, true);
    };
    const deletePerson = (uid: string) => stack.slapd.ldapadd(`dn: ${userDn(uid)}\nchangetype: delete\n`, true);
    const removeFromGroup = (uid: string) => stack.slapd.ldapadd(`dn: ${groupDn('paperless-users')}\nchangetype: modify\ndelete: member\nmember: ${userDn(uid)}\n`, true);
    const appToken = async (uid: string): Promise<string> => {
      const res = await app().post('/api/token/', { username: uid, password: `${uid}-pass` });
      assert.equal(res.status, 200, res.body);
      return (JSON.parse(res.body) as { token: string }).token;
    };
    const refusedByGateway = (res: Reply, reason: RegExp) => {
      assert.equal(res.status, 401, res.body);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.match((JSON.parse(res.body) as { detail: string }).detail, reason);
    };
    const deactivatedInPaperless = async (uid: string, token: string) => {
      assert.equal((await stack.upstream.user(uid))?.is_active, false, 'deactivated in Paperless, not deleted');
      const res = await direct(token);
      assert.ok(res.status === 401 || res.status === 403, `Paperless itself refuses the token (${res.status})`);
    };
    const rechecks = (uid: string) => stack.gateway.logs.filter((l) => l.includes('"session.recheck"') && l.includes(`"username":"${uid}"`)).length;

    it('a token from /api/token/ stops (GET, no body) within the interval after the person is deleted from the directory', async () => {
      await addPerson('tina');
      const token = await appToken('tina');
      assert.equal((await get(token)).status, 200);
      await deletePerson('tina');
      await pastInterval();
      refusedByGateway(await get(token), /no longer found in the directory/);
      refusedByGateway(await post(token), /no longer found in the directory/);
      await deactivatedInPaperless('tina', token);
      assert.ok(stack.gateway.logs.some((l) => l.includes('"token.refused"') && l.includes('"username":"tina"')));
    });

    it('a token from /api/token/ stops (POST, with a body) after removal from the allowed groups', async () => {
      await addPerson('gus');
      const token = await appToken('gus');
      assert.notEqual((await post(token)).status, 401, 'Paperless judged the POST');
      await removeFromGroup('gus');
      await pastInterval();
      refusedByGateway(await post(token), /no longer in an allowed group/);
      refusedByGateway(await get(token), /no longer in an allowed group/);
      await deactivatedInPaperless('gus', token);
    });

    it('a token made in Paperless itself (passed through, its owner found by /api/ui_settings/) stops too', async () => {
      await addPerson('uma');
      assert.equal((await stack.browser().login('uma', 'uma-pass')).status, 303);
      const token = await stack.upstream.tokenFor('uma');
      assert.equal((await get(token)).status, 200);
      await deletePerson('uma');
      await pastInterval();
      refusedByGateway(await get(token), /no longer found in the directory/);
      await deactivatedInPaperless('uma', token);
    });

    it('a token made in Paperless for someone who only ever used Basic stops after removal from the groups (POST first)', async () => {
      await addPerson('basil');
      const basic = `Basic ${Buffer.from('basil:basil-pass').toString('base64')}`;
      assert.equal((await app().get('/api/documents/', { headers: [['Authorization', basic]] })).status, 200);
      const token = await stack.upstream.tokenFor('basil');
      await removeFromGroup('basil');
      await pastInterval();
      refusedByGateway(await post(token), /no longer in an allowed group/);
      await deactivatedInPaperless('basil', token);
      const again = await app().get('/api/documents/', { headers: [['Authorization', basic]] });
      assert.ok(again.status === 401 || again.status === 403, `Basic ends as well (${again.status})`);
    });

    it('asks the directory at most once per interval for a token, not per request', async () => {
      await addPerson('rita');
      const token = await appToken('rita');
      const checkedAt = Date.now();
      assert.equal((await get(token)).status, 200);
      const asked = rechecks('rita');
      const answers = await Promise.all(Array.from({ length: 10 }, () => get(token)));
      assert.deepEqual(answers.map((r) => r.status), Array(10).fill(200));
      // On a busy machine the burst may end after the interval: then one question (never ten) may be asked.
      const allowed = Math.min(1, Math.floor((Date.now() - checkedAt) / INTERVAL_MS));
      const extra = rechecks('rita') - asked;
      assert.ok(extra <= allowed, `${extra} directory questions for ten concurrent requests ${allowed ? 'across one interval' : 'inside the interval'}`);
      await pastInterval();
      const later = await Promise.all(Array.from({ length: 5 }, () => get(token)));
      assert.deepEqual(later.map((r) => r.status), Array(5).fill(200));
      assert.equal(rechecks('rita'), asked + extra + 1, 'one directory question for five concurrent requests once the interval has passed');
    });

    it("local accounts' tokens, the gateway's own among them, pass as before while a removed person's is refused", async () => {
      await addPerson('lou');
      const lous = await appToken('lou');
      await stack.upstream.addUser({ username: 'scanner', password: 'scanner-local', user_permissions: ['view_document', 'view_uisettings'] });
      // Without view_uisettings Paperless will not name the token's user: not an account the gateway provisions.
      await stack.upstream.addUser({ username: 'robot', password: 'robot-local', user_permissions: ['view_document'] });
      const tokens = await Promise.all(['scanner', 'robot', 'gateway-admin'].map((u) => stack.upstream.tokenFor(u)));
      for (const token of tokens) assert.equal((await get(token)).status, 200);
      await pastInterval();
      for (const token of tokens) {
        assert.equal((await get(token)).status, 200);
        assert.notEqual((await post(token)).status, 401);
      }
      for (const u of ['scanner', 'robot', 'gateway-admin']) assert.equal((await stack.upstream.user(u))?.is_active, true);
      await deletePerson('lou');
      await pastInterval();
      refusedByGateway(await get(lous), /no longer found in the directory/);
      for (const token of tokens) assert.equal((await get(token)).status, 200, 'the local accounts are not asked about in the directory');
    });
  });
}

describe('Paperless tokens follow the directory with provisioning off (simulator)', () => {
  let stack: UpstreamStack;
  before(async () => {
    stack = await startStackOn('simulator', {
      upstream: { enableRemoteUserApi: true },
      env: { GATEWAY_PROVISIONING: 'off', GATEWAY_LDAP_RECHECK_INTERVAL: `${INTERVAL_MS}ms`, GATEWAY_LDAP_ALLOWED_GROUPS: 'paperless-users' },
    });
  });
  after(async () => stack?.stop());

  it('a token made in Paperless by someone who only signed in on the form stops once the directory drops them, even before their first re-check', async () => {
    const uid = 'vera';
    await stack.slapd.ldapadd(`dn: ${userDn(uid)}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nuserPassword: ${uid}-pass\n`);
    await stack.slapd.ldapadd(`dn: ${groupDn('paperless-users')}\nchangetype: modify\nadd: member\nmember: ${userDn(uid)}\n`, true);
    // Without provisioning the admin gives people the UI's permissions in Paperless.
    await stack.upstream.addUser({ username: uid, user_permissions: ['view_uisettings', 'view_document'] });
    assert.equal((await stack.browser().login(uid, `${uid}-pass`)).status, 303);
    const token = await stack.upstream.tokenFor(uid);
    const get = () => new Browser(stack.gateway.url).get('/api/documents/', { headers: [['Authorization', `Token ${token}`]] });
    assert.equal((await get()).status, 200);
    await stack.slapd.ldapadd(`dn: ${userDn(uid)}\nchangetype: delete\n`, true);
    await pastInterval();
    const res = await get();
    assert.equal(res.status, 401, res.body);
    assert.match((JSON.parse(res.body) as { detail: string }).detail, /no longer found in the directory/);
  });
});
