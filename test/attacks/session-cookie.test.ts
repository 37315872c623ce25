/**
 * Paperless's session cookie never lives in the browser: the gateway keeps it per gateway session
 * and sends it with that session's requests only. A `sessionid` a client presents, in any
 * spelling Django would read as one, reaches Paperless with nobody's requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { djangoCookieName, rewriteCookies } from '../../src/proxy/cookies.js';
import { Browser } from '../support/http-client.js';
import { paperlessSessionOf } from '../support/jar.js';
import { startStackOn, type UpstreamStack } from '../support/stack.js';
import { openSocket } from '../support/status-socket.js';
import { upstreamKinds } from '../support/upstream.js';
import { rawRequest as raw } from '../support/raw-http.js';

// Python's str.strip() removes these from a cookie name; JavaScript's trim() misses most.
const DISGUISES = ['', ' ', '\x85', '\xa0', '\x1c', '\x1f', '\x0b', '\x0c'];

for (const kind of upstreamKinds()) {
  describe(`attack: Paperless's session cookie from the client (${kind})`, () => {
    let stack: UpstreamStack;
    let stolen: string;
    before(async () => {
      stack = await startStackOn(kind, { upstream: { enableRemoteUserApi: false } });
      await stack.upstream.addShareLink('abc');
      // A valid Paperless session of bob's, as if stolen, or kept by a deprovisioned bob.
      const direct = new Browser(stack.upstream.url);
      await direct.get('/', { headers: [['Remote-User', 'bob']] });
      stolen = direct.jar.get('sessionid') ?? '';
      assert.ok(stolen);
    });
    after(async () => stack?.stop());

    it('in any spelling Django reads as sessionid, it authenticates nobody: not beside a token DRF rejects, not on a share link', async () => {
      for (const disguise of DISGUISES) {
        for (const [path, extra] of [
          ['/api/documents/', 'Authorization: Token\xa0nothing\r\n'],
          ['/share/abc', ''],
        ] as const) {
          const mark = await stack.upstream.mark();
          const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Cookie: a=1;${disguise}sessionid${disguise}=${stolen}\r\nConnection: close\r\n\r\n`, 'latin1');
          const res = await raw(stack.gateway.port, request);
          for (const r of await stack.upstream.requestsSince(mark)) {
            assert.equal(r.user, undefined, `${JSON.stringify(disguise)} on ${path} reached Paperless as ${r.user}`);
            assert.equal(r.cookies.sessionid, undefined, `${JSON.stringify(disguise)} on ${path}: Paperless parsed a sessionid`);
          }
          assert.doesNotMatch(res, /^HTTP\/1\.1 5/, `${JSON.stringify(disguise)} on ${path}`);
        }
      }
    });

    it('the browser never holds sessionid; the gateway follows its rotation and sends it only with its own session', async () => {
      const b = stack.browser();
      await b.login('alice', 'alice-pass');
      await b.get('/documents/');
      assert.equal(b.jar.get('sessionid'), undefined);
      const first = await paperlessSessionOf(stack.redis.url, b);
      assert.ok(first);
      assert.equal(await stack.upstream.sessionUser(first), 'alice');
      // A stolen sessionid beside a real gateway session is replaced by the jar's.
      const mark = await stack.upstream.mark();
      await b.get('/documents/', { headers: [['Cookie', `${b.cookieHeader()}; sessionid=${stolen}`]] });
      const [seen] = await stack.upstream.requestsSince(mark);
      assert.equal(seen?.user, 'alice');
      assert.equal(seen?.cookies.sessionid, first);
    });

    it('after a user switch in one browser, the websocket is the new user\'s (Channels reads the session, not the header)', async () => {
      const b = stack.browser();
      await b.login('alice', 'alice-pass');
      await b.get('/');
      await b.login('bob', 'bob-pass');
      await b.get('/');
      const mark = await stack.upstream.mark();
      const { ws, status } = await openSocket(stack.gateway.url.replace('http', 'ws') + '/ws/status/', { Cookie: b.cookieHeader() });
      assert.ok(ws, `refused with ${status}`);
      const seen = (await stack.upstream.requestsSince(mark)).find((r) => r.path === '/ws/status/');
      assert.equal(seen?.remoteUser, 'bob');
      assert.equal(seen?.user, 'bob', "Channels authenticated bob, not alice's earlier session");
      ws.close();
    });
  });
}

describe('property: no cookie Django reads as sessionid leaves the gateway except the jar', () => {
  const whitespace = fc.constantFrom('', ' ', '\t', '\x85', '\xa0', '\x1c', '\x1d', '\x1e', '\x1f', '\x0b', '\x0c', '\r', '\n');
  const name = fc.oneof(fc.constantFrom('sessionid', 'csrftoken', 'SessionId', 'sessionid2', 'gateway_session', 'a'), fc.stringMatching(/^[a-z_]{1,10}$/));
  const chunk = fc.tuple(whitespace, name, whitespace, fc.stringMatching(/^[A-Za-z0-9%]{0,12}$/)).map(([a, n, b, v]) => `${a}${n}${b}=${v}`);
  const header = fc.array(fc.oneof(chunk, fc.constantFrom('', ' ', 'novalue', '==')), { maxLength: 8 }).map((chunks) => chunks.join(';'));

  it('for generated Cookie headers, Django finds exactly the jar under sessionid', () => {
    fc.assert(
      fc.property(header, fc.option(fc.stringMatching(/^[a-z0-9]{32}$/), { nil: undefined }), (cookie, jar) => {
        const headers: { cookie?: string } = { cookie };
        rewriteCookies(headers, new Set(['sessionid', 'gateway_session']), jar ? { name: 'sessionid', value: jar } : undefined);
        const found = (headers.cookie ?? '').split(';').filter((c) => djangoCookieName(c) === 'sessionid');
        assert.deepEqual(found.map((c) => c.slice(c.indexOf('=') + 1).trim()), jar ? [jar] : []);
        assert.equal((headers.cookie ?? '').split(';').some((c) => djangoCookieName(c) === 'gateway_session'), false);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 20_000) },
    );
  });
});
