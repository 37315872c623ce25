/**
 * No local Paperless password through the gateway: Paperless's profile dialog saves with
 * `PATCH /api/profile/`, and a `password` that is not all `*` would set a local password
 * (contract §9). The gateway reads that small body, refuses a real password with a pointer to
 * its account page, and forwards everything else byte for byte. On the simulator and on the
 * Django upstream (which routes the percent-decoded path, as Paperless does).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Reply } from './support/http-client.js';
import { rawRequest } from './support/raw-http.js';
import { startStack, startStackOn, type Stack, type UpstreamStack } from './support/stack.js';
import { upstreamKinds } from './support/upstream.js';

const STARS = '**********';

/** A profile dialog's save, as Paperless's UI sends it (the whole form, password as stars). */
const dialog = (password: string) => JSON.stringify({ email: 'alice@example.com', password, first_name: 'Alice', last_name: 'A', auth_token: null });

const refusedMessage = (res: Reply): string => {
  const body = JSON.parse(res.body) as { password?: string[]; detail?: string };
  return body.password?.[0] ?? body.detail ?? '';
};

for (const kind of upstreamKinds()) describe(`no local Paperless password through the gateway (${kind})`, () => {
  let stack: UpstreamStack;
  let alice: Browser;

  before(async () => {
    stack = await startStackOn(kind, { upstream: { enableRemoteUserApi: true } });
    alice = stack.browser();
    await alice.login('alice', 'alice-pass');
    await alice.get('/');
  });
  after(async () => stack?.stop());

  const send = (method: string, path: string, body: string, contentType = 'application/json', extra: Array<[string, string]> = []) =>
    alice.request(method, path, { body, headers: [['Content-Type', contentType], ['Origin', stack.gateway.url], ...extra] });

  /** Sends each request and checks that it was refused, saying why, before Paperless saw it. */
  async function refusedBeforePaperless(cases: Array<{ what: string; request: () => Promise<Reply>; says: RegExp }>): Promise<void> {
    const mark = await stack.upstream.mark();
    for (const { what, request, says } of cases) {
      const res = await request();
      assert.equal(res.status, 400, `${what}: ${res.body}`);
      assert.match(refusedMessage(res), says, what);
    }
    assert.deepEqual((await stack.upstream.requestsSince(mark)).map((r) => `${r.method} ${r.path}`), [], 'Paperless saw none of them');
  }

  it("saving the profile dialog (password as stars) reaches Paperless; a real new password is refused with a pointer to the account page", async () => {
    const mark = await stack.upstream.mark();
    const saved = await send('PATCH', '/api/profile/', dialog(STARS));
    assert.notEqual(saved.status, 400, saved.body);
    const seen = await stack.upstream.requestsSince(mark);
    assert.deepEqual(seen.map((r) => `${r.method} ${r.path}`), ['PATCH /api/profile/'], 'the save went through');
    const formSave = await send('PATCH', '/api/profile/', `first_name=Alice&password=${encodeURIComponent(STARS)}`, 'application/x-www-form-urlencoded');
    assert.notEqual(formSave.status, 400, formSave.body);
    const noPassword = await send('PATCH', '/api/profile/', JSON.stringify({ first_name: 'Alice' }));
    assert.notEqual(noPassword.status, 400, noPassword.body);

    const refused = await send('PATCH', '/api/profile/', dialog('my-own-password'));
    assert.equal(refused.status, 400);
    // DRF's field-error shape: Paperless's profile dialog shows it beside the password field.
    const fields = JSON.parse(refused.body) as { password?: string[] };
    assert.match(fields.password?.[0] ?? '', /set your password on the account page at \/accounts\/security\/password\//);
    assert.equal(refused.headers['content-type'], 'application/json');
  });

  it('a real password is refused in every shape Paperless reads: JSON and form, numbers, null, last of two, hidden behind ;', async () => {
    const cases: Array<[string, string, string]> = [
      ['JSON', dialog('new-pass'), 'application/json'],
      ['JSON with a charset', dialog('new-pass'), 'application/json; charset=UTF-8'],
      ['stars around a password', dialog(`**${'x'}**`), 'application/json'],
      ['a number', '{"password": 12345678}', 'application/json'],
      ['null', '{"password": null}', 'application/json'],
      ['an escaped key', '{"p\\u0061ssword": "new-pass"}', 'application/json'],
      ['the second of two keys', `{"password": "${STARS}", "password": "new-pass"}`, 'application/json'],
      ['a form', 'first_name=A&password=new-pass', 'application/x-www-form-urlencoded'],
      ['a form, stars then a password', `password=${STARS}&password=new-pass`, 'application/x-www-form-urlencoded'],
      ['a form, an encoded key', 'p%61ssword=new-pass', 'application/x-www-form-urlencoded'],
      ['a form behind ;', 'first_name=A;password=new-pass', 'application/x-www-form-urlencoded'],
    ];
    await refusedBeforePaperless(cases.map(([what, body, type]) => ({ what, request: () => send('PATCH', '/api/profile/', body, type), says: /account page at \/accounts\/security\// })));
  });

  it('a body the gateway cannot read as Paperless would is refused, saying how to send it', async () => {
    const cases: Array<[string, string, string, RegExp]> = [
      ['multipart', '--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nnew-pass\r\n--b--\r\n', 'multipart/form-data; boundary=b', /JSON/],
      ['plain text', 'password=new-pass', 'text/plain', /JSON/],
      ['no content type', dialog('new-pass'), '', /JSON/],
      ['UTF-16', dialog('new-pass'), 'application/json; charset=utf-16', /UTF-8/],
      ['broken JSON', '{"password": "new-pass"', 'application/json', /JSON/],
      ['Python-only JSON', '{"password": NaN}', 'application/json', /JSON/],
    ];
    await refusedBeforePaperless(
      cases.map(([what, body, type, says]) => ({
        what,
        request: () => (type === '' ? alice.request('PATCH', '/api/profile/', { body, headers: [['Origin', stack.gateway.url]] }) : send('PATCH', '/api/profile/', body, type)),
        says,
      })),
    );
  });

  it('every path Django routes to the profile, and every method, is checked', async () => {
    const paths = ['/api/%70rofile/', '/api%2Fprofile/', '/api/profil%65/', '/api/profile', '/api//profile/', '/api/./profile/', '/api/x/../profile/', '/api/%2e%2e/api/profile/', '/api/profile/?x=1'];
    await refusedBeforePaperless(paths.map((p) => ({ what: p, request: () => send('PATCH', p, dialog('new-pass')), says: /account page/ })));
    const methods = ['PUT', 'POST', 'DELETE', 'PATCH', 'GET'];
    await refusedBeforePaperless(methods.map((m) => ({ what: m, request: () => send(m, '/api/profile/', dialog('new-pass')), says: /account page/ })));
  });

  it('Django routes /api/%70rofile/ to the profile view (so the gateway must decode before deciding)', { skip: kind !== 'django' }, async () => {
    const res = await alice.get('/api/%70rofile/');
    assert.equal(res.status, 200, res.body);
    assert.ok('has_usable_password' in (JSON.parse(res.body) as object) || 'email' in (JSON.parse(res.body) as object));
  });

  it('a token client is checked too; a request with no credentials is not read (the sign-in steps answer it)', async () => {
    const token = await stack.upstream.tokenFor('alice');
    await refusedBeforePaperless([
      { what: 'token', request: () => stack.browser().request('PATCH', '/api/profile/', { body: dialog('new-pass'), headers: [['Content-Type', 'application/json'], ['Authorization', `Token ${token}`]] }), says: /account page/ },
    ]);
    const anonymous = await stack.browser().request('PATCH', '/api/profile/', { body: dialog('new-pass'), headers: [['Content-Type', 'application/json']] });
    assert.equal(anonymous.status, 401);
  });

  it('an oversized profile change is refused before it is read, and the connection closes', async () => {
    const big = JSON.stringify({ first_name: 'x'.repeat(20_000), password: STARS });
    await refusedBeforePaperless([{ what: 'announced too large', request: () => send('PATCH', '/api/profile/', big), says: /at most 16 KiB/ }]);
    const cookie = alice.cookieHeader();
    const chunk = 'x'.repeat(8000);
    const chunked = await rawRequest(
      stack.gateway.port,
      `PATCH /api/profile/ HTTP/1.1\r\nHost: 127.0.0.1:${stack.gateway.port}\r\nCookie: ${cookie}\r\nOrigin: ${stack.gateway.url}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
        [1, 2, 3].map(() => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('') +
        '0\r\n\r\n',
    );
    assert.match(chunked, /^HTTP\/1\.1 400[\s\S]*[Cc]onnection: close[\s\S]*at most 16 KiB/);
  });
});

describe('no local Paperless password: what reaches Paperless is exactly what the gateway read (simulator)', () => {
  let stack: Stack;
  let alice: Browser;
  before(async () => {
    stack = await startStack({ sim: { enableRemoteUserApi: true } });
    alice = stack.browser();
    await alice.login('alice', 'alice-pass');
  });
  after(async () => {
    stack.sim.faults.answerWith = undefined;
    await stack?.stop();
  });

  /** Paperless answers with the body and framing it received. */
  function echoBodies(): void {
    stack.sim.faults.answerWith = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = JSON.stringify({ body: Buffer.concat(chunks).toString('base64'), length: req.headers['content-length'] ?? null, chunked: req.headers['transfer-encoding'] ?? null });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(text);
      });
    };
  }

  it('forwards the inspected bytes unchanged, with a length or in chunks', async () => {
    echoBodies();
    try {
      const odd = Buffer.from(`{ "email" : "ä@example.com",\n\t"password":"${STARS}" , "first_name": "Zoë 🙂", "x": "${'y'.repeat(15_000)}" }`);
      const res = await alice.request('PATCH', '/api/profile/', { body: odd, headers: [['Content-Type', 'application/json'], ['Origin', stack.gateway.url]] });
      assert.equal(res.status, 200, res.body);
      const echoed = JSON.parse(res.body) as { body: string; length: string | null };
      assert.ok(Buffer.from(echoed.body, 'base64').equals(odd), 'the same bytes');
      assert.equal(echoed.length, String(odd.length));

      const parts = ['{"first_name":', '"Alice", "pass', `word": "${STARS}"}`];
      const raw = await rawRequest(
        stack.gateway.port,
        `PATCH /api/profile/ HTTP/1.1\r\nHost: 127.0.0.1:${stack.gateway.port}\r\nCookie: ${alice.cookieHeader()}\r\nOrigin: ${stack.gateway.url}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
          parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('') +
          '0\r\n\r\n',
      );
      assert.match(raw, /^HTTP\/1\.1 200/, raw);
      // The answer may come in chunks itself: the JSON is between the first { and the last }.
      const chunkedEcho = JSON.parse(raw.slice(raw.indexOf('{'), raw.lastIndexOf('}') + 1)) as { body: string };
      assert.equal(Buffer.from(chunkedEcho.body, 'base64').toString(), parts.join(''));

      const formBody = `first_name=Al+ice&password=${encodeURIComponent(STARS)}`;
      const form = await alice.request('PUT', '/api/%70rofile/', { body: formBody, headers: [['Content-Type', 'application/x-www-form-urlencoded'], ['Origin', stack.gateway.url]] });
      assert.equal(Buffer.from((JSON.parse(form.body) as { body: string }).body, 'base64').toString(), formBody);
    } finally {
      stack.sim.faults.answerWith = undefined;
    }
  });

  it('a body that trickles in slower than the deadline is refused; the connection closes', async () => {
    const socket = await import('node:net').then((net) => net.connect(stack.gateway.port, '127.0.0.1'));
    const answer = new Promise<string>((resolve) => {
      let data = '';
      socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
      socket.on('close', () => resolve(data));
      socket.on('error', () => resolve(data));
    });
    const body = dialog('new-pass');
    socket.write(`PATCH /api/profile/ HTTP/1.1\r\nHost: 127.0.0.1:${stack.gateway.port}\r\nCookie: ${alice.cookieHeader()}\r\nOrigin: ${stack.gateway.url}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    // A byte a second: never idle long enough for the idle guard, never done before the deadline.
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < body.length - 1 && !socket.destroyed) socket.write(body[sent++] as string);
    }, 1000);
    try {
      const text = await answer;
      assert.match(text, /^HTTP\/1\.1 400[\s\S]*did not arrive within 10 seconds/);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });
});
