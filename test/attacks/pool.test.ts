/**
 * One client must not hold the upstream pool: without a sign-in, 260 slow requests to /share/x
 * once held all 256 sockets and everyone else waited minutes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../support/stack.js';
import { request } from 'node:http';
import net from 'node:net';
import { documentUpload } from '../support/multipart.js';
import { rawRequest as raw } from '../support/raw-http.js';
import { pollUntil } from '../support/poll.js';

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

/** A request whose chunked body comes one byte at a time, for as long as the test lets it. */
function dripFeed(port: number, path: string, everyMs = 200, headers = '') {
  const socket = net.connect(port, '127.0.0.1');
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n${headers}\r\n`);
  const timer = setInterval(() => socket.writable && socket.write('1\r\nx\r\n'), everyMs);
  return {
    /** Everything answered so far. */
    answer: () => answer,
    /** Resolves with the answer once the gateway closes the connection. */
    closed: closed.then(() => answer),
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

/** Resolves with the value, or rejects saying what was not answered in time (a hang, not slowness). */
function answeredWithin<T>(what: string, promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('attack: drip-feeding the sign-in pages', () => {
  let stack: Stack;
  before(async () => {
    // Small pool, long deadline: the drip outlasts everything the other client does.
    stack = await startStack({ env: { GATEWAY_PAGES_CONNECTIONS: '4', GATEWAY_PAGES_BODY_TIMEOUT: '60s' } });
  });
  after(async () => stack?.stop());

  it('bodies dripped to every kind of page hold no connection to the pages: everyone else signs in, and health answers', async () => {
    const paths = ['/accounts/login/', '/api/token/', '/accounts/logout/', '/_gateway/health', '/accounts/security/', '/admin/logout/', '/accounts/login/?next=/', '/api/token/'];
    const drips = paths.map((path) => dripFeed(stack.gateway.port, path));
    try {
      await new Promise((r) => setTimeout(r, 600));
      const other = stack.browser();
      const page = await answeredWithin('the sign-in page', other.get('/accounts/login/'));
      assert.equal(page.status, 200);
      assert.match(page.body, /<form/);
      assert.equal((await answeredWithin('health', stack.browser().get('/_gateway/health'))).status, 200);
      const signIn = await answeredWithin('a sign-in', other.login('alice', 'alice-pass'));
      assert.equal(signIn.status, 303);
      const app = await answeredWithin('an app sign-in', stack.browser().post('/api/token/', { username: 'alice', password: 'wrong' }));
      assert.ok(app.status >= 400 && app.status < 500, `app sign-in answered ${app.status}`);
      assert.equal((await answeredWithin('the sign-out', other.get('/accounts/logout/'))).status, 303);
      for (const drip of drips) assert.equal(drip.answer(), '', 'the drips are still being read');
    } finally {
      for (const drip of drips) drip.stop();
    }
  });
});

describe('attack: refused sign-ins holding the pages while they are padded', () => {
  let stack: Stack;
  before(async () => {
    // Two connections to the pages: a padded refusal that held one would queue everyone behind it.
    stack = await startStack({ env: { GATEWAY_PAGES_CONNECTIONS: '2', GATEWAY_TRUST_PROXY: 'loopback' } });
  });
  after(async () => stack?.stop());

  it('refusals waiting out their padding hold no connection to the pages: another client is answered while they are still held', async () => {
    // Half by the form, half as an app; each a name that resolves to nobody, from its own address.
    const forms = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const browser = stack.browser();
      const page = await browser.get('/accounts/login/', { headers: [['X-Forwarded-For', `10.7.1.${i + 1}`]] });
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      return { browser, csrf, ip: `10.7.1.${i + 1}` };
    }));
    let answered = 0;
    const count = <T>(reply: Promise<T>) => reply.then((r) => {
      answered += 1;
      return r;
    });
    const refusals = [
      ...forms.map(({ browser, csrf, ip }, i) => count(browser.post('/accounts/login/', { username: `nobody-form-${i}`, password: 'wrong', _csrf: csrf, next: '' }, { headers: [['X-Forwarded-For', ip]] }))),
      ...Array.from({ length: 8 }, (_, i) => count(stack.browser().post('/api/token/', { username: `nobody-app-${i}`, password: 'wrong' }, { headers: [['X-Forwarded-For', `10.7.2.${i + 1}`]] }))),
    ];
    // Once the pages have refused the first, the others are in line before the next request.
    await pollUntil(async () => stack.gateway.logs.some((l) => l.includes('nobody-')), 'the pages refused a first sign-in');
    const health = await stack.browser().get('/_gateway/health', { headers: [['X-Forwarded-For', '10.7.3.1']] });
    const stillHeld = refusals.length - answered;
    assert.equal(health.status, 200);
    // Held in the pages (the padding slept there), at most one refusal could still be unanswered
    // here: the health check waited for a connection behind all the others.
    assert.ok(stillHeld >= 4, `only ${stillHeld} of ${refusals.length} refusals were still held when another client was answered`);
    const replies = await Promise.all(refusals);
    for (const reply of replies) {
      assert.ok(reply.status >= 400 && reply.status < 500, `a refusal answered ${reply.status}`);
      assert.equal(reply.headers['x-gateway-hold-ms'], undefined, 'the hold is the gateway\'s own business');
    }
    assert.match(replies[0]?.body ?? '', /Wrong username or password|incorrect|not correct/i);
  });
});

describe('attack: page bodies past their deadline or size', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_PAGES_BODY_TIMEOUT: '1s' } });
  });
  after(async () => stack?.stop());

  it('a body still dripping at the deadline gets 408 with the reason, and the connection ends', async () => {
    for (const path of ['/accounts/login/', '/api/token/', '/_gateway/health']) {
      const drip = dripFeed(stack.gateway.port, path, 200, 'Accept: application/json\r\n');
      try {
        const answer = await answeredWithin(`the drip to ${path}`, drip.closed, 15_000);
        assert.match(answer, /^HTTP\/1\.1 408 /, `${path}: ${answer.slice(0, 80)}`);
        assert.match(answer, /did not arrive within 1 seconds/);
        assert.match(answer, /Connection: close/i);
      } finally {
        drip.stop();
      }
    }
    assert.ok(stack.gateway.logs.some((l) => l.includes('"pages.body_refused"')), 'the refusal is logged');
  });

  it('a page body over the limit gets 413, announced or chunked', async () => {
    const announced = await raw(stack.gateway.port, 'POST /accounts/login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\nusername=a');
    assert.match(announced, /^HTTP\/1\.1 413 /);
    const chunk = 'x'.repeat(32 * 1024);
    const chunked = await raw(stack.gateway.port, `POST /_gateway/health HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${`8000\r\n${chunk}\r\n`.repeat(3)}0\r\n\r\n`);
    assert.match(chunked, /^HTTP\/1\.1 413 /);
    assert.match(chunked, /sent more than the gateway accepts/);
    // A page body within the limit still arrives whole.
    assert.equal((await stack.browser().login('alice', 'alice-pass')).status, 303);
  });
});

describe('attack: a flood of websocket handshakes from one signed-in user', () => {
  let stack: Stack;
  before(async () => {
    // Handshakes Paperless holds would keep their sockets for a minute: longer than the test.
    stack = await startStack({
      env: {
        GATEWAY_TRUST_PROXY: 'loopback',
        GATEWAY_UPSTREAM_MAX_PER_CLIENT: '2',
        GATEWAY_UPSTREAM_CONNECTIONS: '4',
        GATEWAY_UPSTREAM_TIMEOUT: '60s',
        GATEWAY_WEBSOCKET_HANDSHAKE_TIMEOUT: '60s',
      },
    });
  });
  after(async () => stack?.stop());

  /** A handshake from `ip` on a raw socket; `answer` resolves with the first bytes the gateway sends. */
  const handshake = (ip: string, cookie: string) => {
    const { port } = stack.gateway;
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(
      `GET /ws/status/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Forwarded-For: ${ip}\r\nCookie: ${cookie}\r\n\r\n`,
    );
    const answer = new Promise<string>((resolve) => {
      socket.once('data', (d: Buffer) => resolve(d.toString('latin1')));
      socket.once('close', () => resolve(''));
    });
    return { socket, answer };
  };

  it('handshakes take places of the address\'s share like requests: the rest are refused and other users are served', async () => {
    const alice = stack.browser();
    await alice.login('alice', 'alice-pass');
    await alice.get('/', { headers: [['X-Forwarded-For', '10.9.1.1']] });
    const bob = stack.browser();
    await bob.login('bob', 'bob-pass');
    stack.sim.faults.holdHandshakes = true;
    const flood = Array.from({ length: 8 }, () => handshake('10.9.1.1', alice.cookieHeader()));
    try {
      await pollUntil(async () => stack.sim.status.pendingHandshakes === 2, "Paperless does not hold exactly two of the handshakes", 100, 50);
      const refused = await Promise.all(flood.map((h) => Promise.race([h.answer, new Promise<string>((r) => setTimeout(() => r('(held)'), 2000))])));
      assert.equal(refused.filter((a) => a === '(held)').length, 2, 'two are held by Paperless');
      const refusals = refused.filter((a) => a !== '(held)');
      assert.equal(refusals.length, 6);
      for (const answer of refusals) {
        assert.match(answer, /^HTTP\/1\.1 503 /);
        assert.match(answer, /Retry-After: 1/);
        assert.match(answer, /Too many requests from your address/);
      }
      // Another user, from another address, gets Paperless meanwhile: pages, API and a websocket of her own.
      const page = await answeredWithin("bob's page", bob.get('/', { headers: [['X-Forwarded-For', '10.9.1.2']] }));
      assert.equal(page.status, 200);
      const api = await answeredWithin("bob's API call", bob.get('/api/ui_settings/', { headers: [['X-Forwarded-For', '10.9.1.2']] }));
      assert.ok(api.status < 500, `bob's API call answered ${api.status}`);
      // alice's own requests share the count with her handshakes.
      const own = await answeredWithin("alice's request", alice.get('/api/documents/', { headers: [['X-Forwarded-For', '10.9.1.1']] }));
      assert.equal(own.status, 503);
    } finally {
      stack.sim.faults.holdHandshakes = false;
      for (const h of flood) h.socket.destroy();
    }
    // Once her handshakes are gone, her share is back.
    await pollUntil(async () => stack.sim.status.pendingHandshakes === 0, "Paperless's sockets stayed open", 100, 50);
    await pollUntil(async () => ((await alice.get('/api/documents/', { headers: [['X-Forwarded-For', '10.9.1.1']] })).status) !== 503, 'alice never got her share back', 50, 100);
  });

  it('a user without a Paperless session yet floods handshakes: each gets one, none waits on a denial', async () => {
    const carol = stack.browser();
    await carol.login('carol', 'carol-pass');
    const denials = stack.sim.status.denials;
    const answers = await Promise.all(Array.from({ length: 6 }, () => handshake('10.9.1.3', carol.cookieHeader())).map((h) => answeredWithin('a handshake', h.answer).finally(() => h.socket.destroy())));
    for (const answer of answers) assert.match(answer, /^HTTP\/1\.1 (101|503) /, answer.slice(0, 60));
    assert.ok(answers.some((a) => a.startsWith('HTTP/1.1 101')), 'some opened');
    assert.equal(stack.sim.status.denials, denials, 'Paperless denied none');
    await pollUntil(async () => stack.sim.status.pendingHandshakes === 0, 'a handshake is still held', 50, 50);
  });
});
