/**
 * A directory account must never become a local Paperless account: not the gateway's own token
 * user (a directory `admin` once signed in as Paperless's superuser `admin` and had its flags
 * rewritten), and not any account with a local password, unless the admin says so.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { USER_BASE } from '../support/directory-data.js';
import { GatewayProcess, freePort } from '../support/gateway.js';
import { Browser } from '../support/http-client.js';
import { mappingFile } from '../support/mapping.js';
import { startStack, startStackOn, type UpstreamStack } from '../support/stack.js';
import { upstreamKinds } from '../support/upstream.js';

const message = (body: string) => /role="alert">([^<]+)</.exec(body)?.[1];

for (const kind of upstreamKinds()) {
  describe(`attack: directory accounts that would take over local Paperless accounts (${kind})`, () => {
    let stack: UpstreamStack;
    before(async () => {
      // The token belongs to a Paperless superuser named like a directory user: alice.
      stack = await startStackOn(kind, {
        tokenUser: { username: 'alice', is_superuser: true, is_staff: true, password: 'local-admin-pass' },
        env: { GATEWAY_PROVISIONING_FILE: mappingFile() },
      });
    });
    after(async () => stack?.stop());

    it("nobody signs in as the token's user, and provisioning leaves it as it was", async () => {
      const before = await stack.upstream.user('alice');
      const res = await stack.browser().login('alice', 'alice-pass');
      assert.equal(res.status, 403);
      assert.equal(message(res.body), 'This account is kept for the gateway itself and cannot sign in here. Ask your administrator.');
      assert.ok(stack.gateway.logs.some((l) => l.includes('"provisioning.refused"') && l.includes('token user')), 'the refusal is logged and explained');
      const after = await stack.upstream.user('alice');
      assert.deepEqual(after, before, 'the token user is unchanged');
      const app = await stack.browser().post('/api/token/', { username: 'alice', password: 'alice-pass' });
      assert.equal(app.status, 400, 'app sign-in refused too');
      // Other people still get in: the token still works.
      assert.equal((await stack.browser().login('bob', 'bob-pass')).status, 303);
    });

    it('an account with a local password is not taken over; one made by header login is', async () => {
      await stack.upstream.addUser({ username: 'carol', password: 'her-local-password', email: 'carol@paperless.local' });
      const carolBefore = await stack.upstream.user('carol');
      const refused = await stack.browser().login('carol', 'carol-pass');
      assert.equal(refused.status, 403);
      assert.match(message(refused.body) ?? '', /local Paperless account with your name already exists/);
      assert.ok(stack.gateway.logs.some((l) => l.includes('GATEWAY_PROVISIONING_ADOPT_LOCAL_USERS=true')), 'the log names the setting');
      assert.deepEqual(await stack.upstream.user('carol'), carolBefore);
      // bob's account was made by the gateway (no local password): later sign-ins keep working.
      const bob = await stack.upstream.user('bob');
      assert.ok(bob);
      assert.equal((await stack.browser().login('bob', 'bob-pass')).status, 303);
    });
  });
}

describe('GATEWAY_PROVISIONING_FAILURE=allow', () => {
  it("lets people in when Paperless is out of reach, never past a refusal: not as the token's user, not into a local account", async () => {
    const stack = await startStack({ tokenUser: { username: 'alice', is_superuser: true, is_staff: true, password: 'local-admin-pass' }, env: { GATEWAY_PROVISIONING_FAILURE: 'allow' } });
    try {
      const res = await stack.browser().login('alice', 'alice-pass');
      assert.equal(res.status, 403, 'a refusal is no failure to be lenient about');
      assert.equal(message(res.body), 'This account is kept for the gateway itself and cannot sign in here. Ask your administrator.');
      stack.sim.addUser({ username: 'carol', password: 'her-local-password' });
      assert.equal((await stack.browser().login('carol', 'carol-pass')).status, 403);
      assert.equal((await stack.browser().post('/api/token/', { username: 'alice', password: 'alice-pass' })).status, 400, 'app sign-in refused too');
    } finally {
      await stack.stop();
    }
  });
});

describe("GATEWAY_PROVISIONING_FAILURE=allow while Paperless cannot say whose its token is", () => {
  it('a replica that never asked refuses the token user by the name another learnt; when nobody ever learnt it, it lets nobody in', async () => {
    const stack = await startStack({ tokenUser: { username: 'alice', is_superuser: true, is_staff: true, password: 'local-admin-pass' }, env: { GATEWAY_PROVISIONING_FAILURE: 'allow' } });
    let replica: GatewayProcess | undefined;
    const redis = new Redis(stack.redis.url);
    try {
      // The first replica learns it (at start, and keeps it in Redis at latest with its first sign-in).
      assert.equal((await stack.browser().login('bob', 'bob-pass')).status, 303);
      assert.equal((await redis.keys('gateway:prov:token-user:*')).length, 1, 'the token user is kept in Redis');
      stack.sim.faults.failWith = { status: 503, body: { detail: 'Paperless is down' } };
      replica = new GatewayProcess({ ...stack.gateway.env, GATEWAY_PORT: String(await freePort()) });
      await replica.start();
      const at = (url: string) => new Browser(url);
      const refused = await at(replica.url).login('alice', 'alice-pass');
      assert.equal(refused.status, 403, 'alice is the token user: no failure to be lenient about');
      assert.equal(message(refused.body), 'This account is kept for the gateway itself and cannot sign in here. Ask your administrator.');
      assert.equal((await at(replica.url).login('bob', 'bob-pass')).status, 303, 'others get in while Paperless is down, as the setting says');

      // Nobody has ever learnt it (a new token, or Redis emptied): nobody can be told apart from the superuser.
      await redis.del(...(await redis.keys('gateway:prov:token-user:*')));
      for (const [name, password] of [['alice', 'alice-pass'], ['carol', 'carol-pass']] as const) {
        const res = await at(replica.url).login(name, password);
        assert.equal(res.status, 502, `${name}: ${res.status}`);
        assert.match(message(res.body) ?? '', /Paperless could not be updated with your account details, so you are not signed in/);
      }
      assert.ok(replica.logs.some((l) => l.includes('cannot tell whether carol is the Paperless user of GATEWAY_PAPERLESS_TOKEN')), 'the log says why');
      assert.equal((await at(replica.url).post('/api/token/', { username: 'alice', password: 'alice-pass' })).status >= 400, true, 'app sign-in refused too');

      // Paperless back: the name is learnt (and kept) again, and the others get in.
      stack.sim.faults.failWith = undefined;
      assert.equal((await at(replica.url).login('carol', 'carol-pass')).status, 303);
      assert.equal((await at(replica.url).login('alice', 'alice-pass')).status, 403);
    } finally {
      stack.sim.faults.failWith = undefined;
      redis.disconnect();
      await replica?.stop();
      await stack.stop();
    }
  });
});

describe("the token's user in another spelling", () => {
  it('is still the token user: Paperless finds its row case- and accent-insensitively', async () => {
    const stack = await startStack({ tokenUser: { username: 'Álice', is_superuser: true, is_staff: true }, env: { GATEWAY_PROVISIONING_ADOPT_LOCAL_USERS: 'true' } });
    try {
      const res = await stack.browser().login('alice', 'alice-pass');
      assert.equal(res.status, 403);
      assert.equal(message(res.body), 'This account is kept for the gateway itself and cannot sign in here. Ask your administrator.');
      assert.equal(stack.sim.user('Álice')?.is_superuser, true, 'unchanged');
    } finally {
      await stack.stop();
    }
  });
});

describe('GATEWAY_PROVISIONING_ADOPT_LOCAL_USERS=true', () => {
  it('lets a directory user take over a local account of the same name', async () => {
    const stack = await startStack({ env: { GATEWAY_PROVISIONING_ADOPT_LOCAL_USERS: 'true' } });
    try {
      stack.sim.addUser({ username: 'carol', password: 'her-local-password' });
      assert.equal((await stack.browser().login('carol', 'carol-pass')).status, 303);
      assert.equal(stack.sim.user('carol')?.email, 'carol@example.com', 'provisioned from the directory');
    } finally {
      await stack.stop();
    }
  });
});

/** A person in the test directory whose uid is `name` (LDIF-escaped for the DN). */
function directoryPerson(name: string, password: string): string {
  const rdn = name.replace(/([,+"\\<>;=])/g, '\\$1');
  return `dn: uid=${rdn},${USER_BASE}\nobjectClass: inetOrgPerson\nuid: ${name}\ncn: ${name}\nsn: ${name}\nmail: ${name}@example.com\nuserPassword: ${password}\n`;
}

for (const kind of upstreamKinds()) {
  describe(`attack: with GATEWAY_PROVISIONING=off, a directory user named like a local Paperless superuser (${kind})`, () => {
    let stack: UpstreamStack;
    before(async () => {
      // Paperless's install-time superuser `admin` holds the token; provisioning is off, so the
      // gateway makes no API call and cannot ask Paperless who has a local password.
      stack = await startStackOn(kind, {
        tokenUser: { username: 'admin', is_superuser: true, is_staff: true, password: 'local-admin-pass' },
        env: { GATEWAY_PROVISIONING: 'off', GATEWAY_LDAP_RECHECK_INTERVAL: '1s' },
      });
      await stack.slapd.ldapadd([directoryPerson('admin', 'directory-admin-pass'), directoryPerson('gateway+service', 'directory-service-pass')].join('\n'));
    });
    after(async () => stack?.stop());

    for (const [name, password] of [['admin', 'directory-admin-pass'], ['gateway+service', 'directory-service-pass'], ['ADMIN', 'directory-admin-pass']] as const) {
      it(`${name} is refused on the form, at /api/token/ and by Basic, and never reaches Paperless`, async () => {
        const mark = await stack.upstream.mark();
        const before = await stack.upstream.user('admin');
        const browser = stack.browser();
        const res = await browser.login(name, password);
        assert.equal(res.status, 403);
        assert.equal(message(res.body), 'This name belongs to a local Paperless account, so it cannot sign in here. Ask your administrator.');
        assert.equal((await browser.get('/api/documents/')).status, 401, 'no session was made');
        assert.equal((await stack.browser().post('/api/token/', { username: name, password })).status, 400, 'app sign-in refused too');
        const basic = await stack.browser().get('/api/documents/', { headers: [['Authorization', `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`]] });
        assert.equal(basic.status, 403, 'Basic refused too');
        const seen = (await stack.upstream.requestsSince(mark)).map((r) => r.remoteUser).filter((u) => u !== undefined);
        assert.deepEqual(seen, [], 'Paperless never received the name');
        assert.deepEqual(await stack.upstream.user('admin'), before, "Paperless's admin is unchanged");
        assert.ok(stack.gateway.logs.some((l) => l.includes('"login.failure"') && l.includes('ReservedUsernameError') && l.includes('GATEWAY_RESERVED_USERNAMES')), 'the log names the setting');
      });
    }

    it("a reserved name's answer does not depend on the password: no oracle for the directory account's password", async () => {
      const answers = async (password: string) => {
        const form = await stack.browser().login('admin', password);
        const app = await stack.browser().post('/api/token/', { username: 'admin', password });
        const basic = await stack.browser().get('/api/documents/', { headers: [['Authorization', `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`]] });
        return [form.status, message(form.body), app.status, app.body, basic.status, basic.body];
      };
      assert.deepEqual(await answers('a-wrong-password'), await answers('directory-admin-pass'));
    });

    it('a session a reserved name got before the rule (a gateway without the list) ends at its next re-check', async () => {
      const port = await freePort();
      const older = new GatewayProcess({ ...stack.gateway.env, GATEWAY_PORT: String(port), GATEWAY_PUBLIC_URL: `http://127.0.0.1:${port}`, GATEWAY_RESERVED_USERNAMES: 'none' });
      let cookie: string | undefined;
      let signedIn = 0;
      try {
        await older.start();
        const before = new Browser(older.url);
        assert.equal((await before.login('admin', 'directory-admin-pass')).status, 303, 'signed in while the name was not reserved');
        signedIn = Date.now();
        cookie = before.jar.get('gateway_session');
      } finally {
        await older.stop();
      }
      assert.ok(cookie);
      const b = stack.browser();
      b.jar.set('gateway_session', cookie);
      // Until the re-check interval (1 s) since the sign-in has passed: counted from the record's time, on this clock.
      await new Promise((r) => setTimeout(r, Math.max(0, signedIn + 1001 - Date.now())));
      const mark = await stack.upstream.mark();
      const res = await b.get('/documents/');
      assert.equal(res.status, 302, 'the re-check ends it');
      assert.match(String(res.headers.location), /^\/accounts\/login\//);
      assert.deepEqual((await stack.upstream.requestsSince(mark)).map((r) => r.remoteUser).filter((u) => u !== undefined), [], 'Paperless never received the name');
      assert.ok(stack.gateway.logs.some((l) => l.includes('"session.revoked"') && l.includes('GATEWAY_RESERVED_USERNAMES')));
    });

    it('other directory users sign in as before, and the start-up log names the reserved names', async () => {
      assert.equal((await stack.browser().login('bob', 'bob-pass')).status, 303);
      assert.ok(stack.gateway.logs.some((l) => l.includes('"startup.reserved_usernames"') && l.includes('admin') && l.includes('gateway+service')));
    });
  });
}
