/**
 * Path tricks around the public share links: whatever bytes a client sends, Paperless receives
 * exactly the path the gateway decided on, and nothing but Paperless's own share route is public.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalTarget, isParserFixedPoint, isShareLink, parsedTarget } from '../../src/proxy/request-target.js';
import { startStackOn, type UpstreamStack } from '../support/stack.js';
import { upstreamKinds } from '../support/upstream.js';
import { rawRequest as raw } from '../support/raw-http.js';

const TRAVERSALS = [
  '/share/../api/documents/',
  '/share/%2e%2e/api/documents/',
  '/share/%2E%2E/api/documents/',
  '/share/.%2e/api/documents/',
  '/share/..\\api/documents/',
  '/share/..%5capi/documents/',
  '/share/..%2fapi/documents/',
  '/share/..%2Fapi%2Fdocuments%2F',
  '/share/x/../../api/documents/',
  '/share//../api/documents/',
  '/share/x/..//..//api/documents/',
  '/share/./../api/users/',
  '/share/%2e./api/profile/',
  '/share/abc/%2e%2e/%2e%2e/api/ui_settings/',
  '/share/x%2F..%2F..%2Fapi%2Fdocuments%2F',
  '/share%2F..%2Fapi/documents/',
  '/share/x?next=/../api/documents/',
  '/share/../api/token/',
  '/share/%2e%2e/api/token/',
];

for (const kind of upstreamKinds()) {
  describe(`attack: path tricks around /share/ (${kind})`, () => {
    let stack: UpstreamStack;
    let token: string;
    before(async () => {
      stack = await startStackOn(kind);
      await stack.upstream.addShareLink('abc');
      token = await stack.upstream.tokenFor('gateway-admin');
    });
    after(async () => stack?.stop());

    it('no traversal from /share/ reaches the API without a sign-in, whatever the method', async () => {
      for (const path of TRAVERSALS) {
        for (const method of ['GET', 'POST']) {
          const mark = await stack.upstream.mark();
          const body = method === 'POST' ? 'username=gateway-admin&password=guess' : '';
          const res = await raw(
            stack.gateway.port,
            `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${Buffer.from('gateway-admin:guess').toString('base64')}\r\n` +
              `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
          );
          const seen = await stack.upstream.requestsSince(mark);
          for (const r of seen) {
            assert.ok(!r.path.includes('/api/') || r.user !== undefined, `${method} ${path} reached Paperless's API anonymously as ${r.path}`);
            assert.equal(r.url, canonicalTarget(path), `${method} ${path}: Paperless received what the gateway decided on`);
          }
          assert.doesNotMatch(res, /^HTTP\/1\.1 200/, `${method} ${path} answered 200`);
        }
      }
    });

    it('the share route itself is public for GET and HEAD only, and carries nothing of the client', async () => {
      const mark = await stack.upstream.mark();
      const get = await raw(stack.gateway.port, `GET /share/abc HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token ${token}\r\nCookie: sessionid=stolen\r\nConnection: close\r\n\r\n`);
      assert.match(get, /^HTTP\/1\.1 200/);
      assert.match(get, /shared document abc/);
      const [seen] = await stack.upstream.requestsSince(mark);
      assert.equal(seen?.cookies.sessionid, undefined, "the browser's Paperless session stays behind");
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'PROPFIND']) {
        const before = await stack.upstream.mark();
        const res = await raw(stack.gateway.port, `${method} /share/abc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        assert.match(res, /^HTTP\/1\.1 (401|302)/, `${method} /share/abc needs a sign-in`);
        assert.deepEqual(await stack.upstream.requestsSince(before), [], `${method} /share/abc reached nothing`);
      }
    });
  });
}

describe('property: the path Paperless receives is the one the gateway decided on', () => {
  const segment = fc.constantFrom('share', 'api', 'documents', '..', '.', '%2e%2e', '%2E.', '.%2e', '', 'x', '%2f', '%5c', '\\', 'abc', '%00', ' ', '%', '?', 'a%2Fb');
  const separator = fc.constantFrom('/', '//', '\\', '/./', '%2f');
  const paths = fc.array(fc.tuple(separator, segment), { minLength: 1, maxLength: 8 }).map((parts) => parts.map(([sep, seg]) => sep + seg).join(''));

  it('canonical targets are stable under a second parse (as a proxy that parses again would do), and share links stay inside /share/', () => {
    fc.assert(
      fc.property(paths, (path) => {
        const target = canonicalTarget(path);
        if (target === undefined) return;
        // Parsed again (http-proxy-3 did, when it carried websockets), the canonical target must not move.
        assert.equal(canonicalTarget(target), target);
        const pathOnly = target.split('?')[0] ?? '';
        if (isShareLink(pathOnly)) assert.match(pathOnly, /^\/share\/[A-Za-z0-9_]+\/?$/);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 20_000) },
    );
  });

  it("the fast answer for plain targets is the WHATWG parser's answer", () => {
    // Every character class the parser treats specially, beside ordinary ones.
    const char = fc.constantFrom(...'aZ09-._~!$&\'()*+,;=:@/?%#[]|^{}`"<> \\\t\n\x00\x7f\u00e9\u2028.', '%2e', '%2E', '/.', '/..', '//', '?', '??');
    const target = fc.array(char, { maxLength: 24 }).map((parts) => `/${parts.join('')}`);
    fc.assert(
      fc.property(target, (raw) => {
        if (isParserFixedPoint(raw)) assert.equal(raw, parsedTarget(raw), `${JSON.stringify(raw)} taken as unchanged by the fast path`);
        assert.equal(canonicalTarget(raw), parsedTarget(raw));
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 100_000) },
    );
    for (const plain of ['/api/documents/', '/api/documents/?page=2&page_size=25&ordering=-created', '/static/frontend/en-US/main.js', '/ws/status/', '/share/abc_1/']) {
      assert.ok(isParserFixedPoint(plain), `${plain} takes the fast path`);
    }
    for (const odd of ['//evil/x', '/a/../b', '/a/%2e%2e/b', '/a\\b', '/a?', "/a?b'c", '/a b', '/.well-known/x', '/a#frag']) {
      assert.ok(!isParserFixedPoint(odd), `${odd} goes through the parser`);
    }
  });
});
