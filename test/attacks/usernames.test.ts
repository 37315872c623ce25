/**
 * Names Paperless can and cannot receive. Django decodes header bytes as Latin-1: `josé` arrives
 * whole, `łukasz` cannot be sent at all (Node refuses the header), and once took the process down.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { USER_BASE } from '../support/directory-data.js';
import { startStackOn, type UpstreamStack } from '../support/stack.js';
import { openSocket } from '../support/status-socket.js';
import { pollUntil } from '../support/poll.js';
import { SESSION_CACHE_MS } from '../../src/session/sessions.js';
import { upstreamKinds } from '../support/upstream.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

function person(uid: string, password: string): string {
  return [
    `dn:: ${b64(`uid=${uid},${USER_BASE}`)}`,
    'objectClass: inetOrgPerson',
    `uid:: ${b64(uid)}`,
    `cn:: ${b64(uid)}`,
    `sn:: ${b64(uid)}`,
    `userPassword: ${password}`,
  ].join('\n');
}

for (const kind of upstreamKinds()) {
  describe(`attack: usernames outside what the identity header carries (${kind})`, () => {
    let stack: UpstreamStack;
    before(async () => {
      stack = await startStackOn(kind, { upstream: { enableRemoteUserApi: true } });
      await stack.slapd.ldapadd(`${person('josé', 'jose-pass')}\n\n${person('łukasz', 'lukasz-pass')}\n`);
    });
    after(async () => stack?.stop());

    it('a Latin-1 name reaches Paperless whole', async () => {
      const b = stack.browser();
      assert.equal((await b.login('josé', 'jose-pass')).status, 303);
      const mark = await stack.upstream.mark();
      const page = await b.get('/documents/');
      assert.equal(page.status, 200);
      const [seen] = await stack.upstream.requestsSince(mark);
      assert.equal(seen?.user, 'josé', 'Paperless decoded the header to the same name');
      assert.ok(await stack.upstream.user('josé'));
    });

    it('a name outside Latin-1 is refused at sign-in with the fix named, by every way in, and the gateway lives on', async () => {
      const form = await stack.browser().login('łukasz', 'lukasz-pass');
      assert.equal(form.status, 403);
      assert.match(form.body, /GATEWAY_LDAP_USERNAME_ATTRIBUTE/);
      const basic = await stack.browser().get('/api/documents/', { headers: [['Authorization', `Basic ${Buffer.from('łukasz:lukasz-pass').toString('base64')}`]] });
      assert.ok([401, 403].includes(basic.status), `Basic answered ${basic.status}`);
      const app = await stack.browser().post('/api/token/', { username: 'łukasz', password: 'lukasz-pass' });
      assert.equal(app.status, 400);
      assert.ok(stack.gateway.logs.some((l) => l.includes('outside Latin-1') && l.includes('GATEWAY_LDAP_USERNAME_ATTRIBUTE')), 'the log names the fix');
      assert.equal((await stack.browser().get('/_gateway/health')).status, 200);
      assert.equal(await stack.upstream.user('łukasz'), undefined, 'nothing was made in Paperless');
    });

    it('a session that already holds such a name is refused per request and per websocket, without a crash', async () => {
      const b = stack.browser();
      await b.login('alice', 'alice-pass');
      // A session from before the sign-in rule: rewrite its name in Redis.
      const redis = new Redis(stack.redis.url);
      try {
        for (const key of await redis.keys('*sess:*')) {
          const value = await redis.get(key);
          if (value?.includes('"alice"')) await redis.set(key, value.replaceAll('"alice"', '"łukasz"'), 'KEEPTTL');
        }
      } finally {
        redis.disconnect();
      }
      // A copy of the session in this process's one-second cache would still say alice: the first answer that is not 200 is the verdict.
      let status = 0;
      await pollUntil(async () => (status = (await b.get('/documents/')).status) !== 200, 'still served as alice after the name was rewritten', (SESSION_CACHE_MS + 1000) / 50, 50);
      assert.equal(status, 403);
      const ws = await openSocket(stack.gateway.url.replace('http', 'ws') + '/ws/status/', { Cookie: b.cookieHeader() });
      assert.equal(ws.status, 403);
      assert.equal((await stack.browser().get('/_gateway/health')).status, 200, 'the process is still serving');
    });
  });
}
