/**
 * One client must not hold the upstream pool: without a sign-in, 260 slow requests to /share/x
 * once held all 256 sockets and everyone else waited minutes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../support/stack.js';
import { request } from 'node:http';
import { documentUpload } from '../support/multipart.js';
import { rawRequest as raw } from '../support/raw-http.js';

describe('attack: exhausting the upstream pool', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_TRUST_PROXY: 'loopback', GATEWAY_UPSTREAM_MAX_PER_CLIENT: '4' } });
    stack.sim.addShareLink('abc');
  });
  after(async () => stack?.stop());

  const share = (ip: string) => stack.browser().get('/share/abc', { headers: [['X-Forwarded-For', ip]] });

  it('one address gets at most its share of in-flight requests; everyone else is served meanwhile', async () => {
    stack.sim.faults.delayMs = 1500;
    try {
      const flood = Array.from({ length: 8 }, () => share('10.9.0.1'));
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      const other = await share('10.9.0.2');
      assert.equal(other.status, 200, 'another address is served');
      const answers = await Promise.all(flood);
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(statuses, [200, 200, 200, 200, 503, 503, 503, 503]);
      const refused = answers.find((a) => a.status === 503);
      assert.equal(refused?.headers['retry-after'], '1');
      assert.match(JSON.parse(refused?.body ?? '{}').detail, /Too many requests from your address/);
      assert.ok(Date.now() - started < 5000);
    } finally {
      stack.sim.faults.delayMs = 0;
    }
    // Once they are answered, the address has its share again.
    assert.equal((await share('10.9.0.1')).status, 200);
  });

  it('a share link with a request body is refused before Paperless, so no body can trickle into the pool', async () => {
    const before = stack.sim.requests.length;
    const res = await raw(stack.gateway.port, 'GET /share/abc HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
    assert.match(res, /^HTTP\/1\.1 400/);
    const chunked = await raw(stack.gateway.port, 'GET /share/abc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n');
    assert.match(chunked, /^HTTP\/1\.1 400/);
    assert.equal(stack.sim.requests.length, before, 'nothing reached Paperless');
  });
});

describe('attack: trickling a body with a token', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_CLIENT_BODY_IDLE_TIMEOUT: '30s' } });
    stack.sim.addUser({ username: 'alice', user_permissions: ['add_document'] });
  });
  after(async () => stack?.stop());

  /** The start of an upload whose body then stops coming. */
  const upload = (authorization: string, framing = 'Content-Length: 100') => {
    const start = framing.startsWith('Transfer-Encoding') ? '5\r\n--b\r\n\r\n' : '--b\r\n';
    return raw(stack.gateway.port, `POST /api/documents/post_document/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: multipart/form-data; boundary=b\r\n${framing}\r\nConnection: close\r\n\r\n${start}`, 10_000);
  };

  it('a token Paperless does not accept is refused before a byte of the body is forwarded, in every spelling', async () => {
    const variants = ['Token nonsense', 'token nonsense', 'TOKEN\tnonsense', 'Token', 'Token a b', `Token ${'f'.repeat(40)}`];
    for (const authorization of variants) {
      for (const framing of ['Content-Length: 100', 'Transfer-Encoding: chunked']) {
        const started = Date.now();
        const res = await upload(authorization, framing);
        // The body never comes: a gateway that forwarded it would wait for the 30 s stall timeout.
        assert.match(res, /^HTTP\/1\.1 403/, `${authorization} / ${framing}: ${res.slice(0, 80)}`);
        assert.match(res, /"detail":"Invalid token\."/);
        assert.ok(Date.now() - started < 5000, `${authorization} / ${framing}: answered after ${Date.now() - started} ms`);
      }
    }
    assert.equal(stack.sim.requestsTo('/api/documents/post_document/').length, 0, 'no upload reached Paperless');
    // What DRF would not call a token at all needs a session like any request.
    assert.match(await upload('Token\xa0nonsense'), /^HTTP\/1\.1 401/);
    assert.ok(stack.gateway.logs.some((l) => l.includes('"login.failure"') && l.includes('"via":"token"')), 'refusals are in the audit log');
  });

  it('a token Paperless accepts streams its body as before; the check is remembered', async () => {
    const token = stack.sim.tokenFor('alice');
    const size = 4 * 64 * 1024;
    const send = () =>
      new Promise<number>((resolve, reject) => {
        const body = documentUpload(size);
        const req = request(`${stack.gateway.url}/api/documents/post_document/`, {
          method: 'POST',
          headers: { Authorization: `Token ${token}`, 'Content-Type': body.contentType, 'Content-Length': String(body.length) },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        body.stream.pipe(req);
      });
    const checks = () => stack.sim.requestsTo('/api/profile/').length;
    const before = checks();
    assert.equal(await send(), 200);
    assert.equal(await send(), 200);
    assert.deepEqual(stack.sim.uploads.slice(-2), [{ user: 'alice', bytes: size }, { user: 'alice', bytes: size }]);
    assert.equal(checks(), before + 1, 'Paperless was asked once');
    // A token request without a body is Paperless's to judge, without a check.
    assert.equal((await stack.browser().get('/api/documents/', { headers: [['Authorization', `Token ${token}`]] })).status, 403);
    assert.equal(checks(), before + 1);
  });

  it('a Paperless that cannot say gets the 502 page, not a guess', async () => {
    stack.sim.faults.failWith = { status: 500, body: { detail: 'boom' } };
    try {
      assert.match(await upload(`Token ${'e'.repeat(40)}`), /^HTTP\/1\.1 502/);
    } finally {
      stack.sim.faults.failWith = undefined;
    }
  });
});

describe('attack: slow clients', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_CLIENT_HEADER_TIMEOUT: '1s', GATEWAY_CLIENT_BODY_IDLE_TIMEOUT: '1s' } });
  });
  after(async () => stack?.stop());

  it('headers sent too slowly are answered 408 and the connection closed', async () => {
    const started = Date.now();
    const res = await raw(stack.gateway.port, 'GET /documents/ HTTP/1.1\r\nHost: x\r\nX-Slow: ', 10_000);
    assert.match(res, /^HTTP\/1\.1 408/);
    assert.ok(Date.now() - started < 5000, `closed after ${Date.now() - started} ms`);
  });

  it('a request body that stalls is cut off, and Paperless is told (its upload aborts)', async () => {
    stack.sim.addUser({ username: 'alice', user_permissions: ['add_document'] });
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    await b.get('/');
    const before = stack.sim.uploads.length;
    const started = Date.now();
    // 100 bytes promised, 10 sent, then silence.
    const res = await raw(
      stack.gateway.port,
      `POST /api/documents/post_document/ HTTP/1.1\r\nHost: ${new URL(stack.gateway.url).host}\r\nCookie: ${b.cookieHeader()}\r\nOrigin: ${stack.gateway.url}\r\nX-CSRFToken: ${b.jar.get('csrftoken') ?? ''}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100\r\n\r\n--b\r\nConten`,
      10_000,
    );
    assert.ok(Date.now() - started < 5000, `cut off after ${Date.now() - started} ms`);
    assert.doesNotMatch(res, /^HTTP\/1\.1 200/);
    assert.equal(stack.sim.uploads.length, before, 'no upload was completed');
    assert.equal((await stack.browser().get('/_gateway/health')).status, 200);
  });
});
