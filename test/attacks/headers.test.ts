/** Attacks through headers, each a named case with its expected outcome. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStackOn, type UpstreamStack } from '../support/stack.js';
import { upstreamKinds } from '../support/upstream.js';
import { rawRequest as raw } from '../support/raw-http.js';
import { openSocket } from '../support/status-socket.js';

for (const kind of upstreamKinds()) describe(`attacks through headers (${kind})`, () => {
  let stack: UpstreamStack;
  before(async () => {
    stack = await startStackOn(kind);
    await stack.upstream.addShareLink('a');
    await stack.upstream.addShareLink('b');
  });
  after(async () => stack?.stop());

  it('an oversized header is refused with 431 and the gateway lives on', async () => {
    const res = await raw(stack.gateway.port, `GET /documents/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(res, /^HTTP\/1\.1 431/);
    assert.equal((await stack.browser().get('/_gateway/health')).status, 200);
  });

  it('a header smuggling a bare CR or a second line is refused with 400', async () => {
    const cr = await raw(stack.gateway.port, `GET /documents/ HTTP/1.1\r\nHost: x\r\nX-A: a\rRemote-User: admin\r\n\r\n`);
    assert.match(cr, /^HTTP\/1\.1 400/);
    const obsFold = await raw(stack.gateway.port, `GET /api/documents/ HTTP/1.1\r\nHost: x\r\nX-A: a\r\n Remote-User: admin\r\n\r\n`);
    assert.match(obsFold, /^HTTP\/1\.1 400/);
  });

  it('a spoofed identity header on a request smuggled into the same connection is stripped too', async () => {
    const before = await stack.upstream.mark();
    const res = await raw(
      stack.gateway.port,
      `GET /share/a HTTP/1.1\r\nHost: x\r\nRemote-User: admin\r\n\r\nGET /share/b HTTP/1.1\r\nHost: x\r\nremote_user: admin\r\nConnection: close\r\n\r\n`,
    );
    assert.match(res, /shared document a[\s\S]*shared document b/);
    const seen = await stack.upstream.requestsSince(before);
    // Both reach Paperless (in whichever order its workers record them; the answers above are in order).
    assert.deepEqual(seen.map((r) => r.path).sort(), ['/share/a', '/share/b']);
    for (const r of seen) assert.equal(r.remoteUser, undefined, r.path);
  });

  it('headers a client names in Connection stop at the gateway, and cannot take the identity header with them', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    const before = await stack.upstream.mark();
    const res = await b.get('/documents/', { headers: [['Connection', 'keep-alive, X-Hop-Secret, Remote-User, X-Forwarded-For'], ['X-Hop-Secret', '1']] });
    assert.equal(res.status, 200);
    const [seen] = await stack.upstream.requestsSince(before);
    assert.ok(seen);
    assert.equal(seen.rawHeaders.some(([k]) => k.toLowerCase() === 'x-hop-secret'), false, 'the named header was dropped');
    assert.equal(seen.user, 'alice', 'the identity the gateway set still arrives');
    assert.equal(seen.remoteUser, 'alice');
    assert.ok(seen.rawHeaders.some(([k]) => k.toLowerCase() === 'x-forwarded-for'), 'and so do the forwarding headers');
  });

  it('Origin: null (a sandboxed frame, a data: or file: page) is a page: its websocket handshake is refused with a reason, whatever the Referer', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    await b.get('/'); // Paperless's sessionid, which /ws/status/ authenticates by
    const url = `${stack.gateway.url.replace('http', 'ws')}/ws/status/`;
    const before = await stack.upstream.mark();
    for (const headers of [{ Origin: 'null' }, { Origin: 'null', Referer: `${stack.gateway.url}/documents/` }, { Origin: 'null', Referer: 'https://evil.example/' }] as Array<Record<string, string>>) {
      const res = await openSocket(url, { Cookie: b.cookieHeader(), ...headers });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.match(JSON.parse(res.body ?? '{}').detail, /Origin checking failed - null \(a sandboxed frame, or a data: or file: page\) does not match/);
    }
    assert.deepEqual(await stack.upstream.requestsSince(before), [], 'Paperless saw none of them');
    // Non-browser clients send no Origin at all, and keep working; the site's own pages too.
    for (const headers of [{}, { Origin: stack.gateway.url }] as Array<Record<string, string>>) {
      const res = await openSocket(url, { Cookie: b.cookieHeader(), ...headers });
      assert.ok(res.ws, `opens with ${JSON.stringify(headers)}: ${res.status} ${res.body}`);
      res.ws.close();
    }
  });

  it('Origin: null on an unsafe request is refused even with a same-site Referer', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    const before = await stack.upstream.mark();
    for (const method of ['POST', 'DELETE', 'PATCH']) {
      const res = await b.request(method, '/api/documents/1/', { headers: [['Origin', 'null'], ['Referer', `${stack.gateway.url}/documents/`]] });
      assert.equal(res.status, 403, method);
      assert.match(JSON.parse(res.body).detail, /CSRF Failed: Origin checking failed - null/);
    }
    assert.deepEqual(await stack.upstream.requestsSince(before), [], 'Paperless saw none of them');
  });

  it("the gateway's own pages carry strict security headers; error pages too", async () => {
    const page = await stack.browser().get('/accounts/login/');
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['referrer-policy'], 'same-origin');
    assert.doesNotMatch(page.body, /<script|style=/, 'no inline script or style to allow');
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    await stack.upstream.stop();
    try {
      const error = await b.get('/documents/');
      assert.equal(error.status, 502);
      assert.match(String(error.headers['content-security-policy']), /default-src 'none'/);
    } finally {
      await stack.upstream.start();
    }
  });
});
