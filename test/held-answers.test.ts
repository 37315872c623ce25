/**
 * An answer the pages thread asks to hold back (a refused sign-in's padding) is kept by the
 * proxying thread's exchange, off the connection, and sent whole at its time.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HttpCore } from '../src/proxy/http-core.js';
import { AnswerHolds } from '../src/server/answer-hold.js';
import { HOLD_HEADER, HOLD_LIMIT_MS } from '../src/server/pages-messages.js';

describe('held answers', () => {
  let upstream: http.Server;
  let front: http.Server;
  let core: HttpCore<undefined>;
  let upstreamRequests = 0;
  let finished = 0;
  const failures: string[] = [];

  before(async () => {
    upstream = http.createServer((req, res) => {
      upstreamRequests += 1;
      if (req.url === '/broken') {
        // Head with a hold, then the connection breaks before the body is whole.
        res.writeHead(401, { 'x-hold': '300', 'content-length': '100' });
        res.write('part');
        setTimeout(() => res.socket?.destroy(), 50);
        return;
      }
      // Dated long ago: a held answer must carry the time it is sent, not this.
      res.writeHead(401, { 'x-hold': req.url === '/plain' ? '0' : '1300', 'content-type': 'text/plain', date: new Date(Date.now() - 60_000).toUTCString() }).end('refused');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as AddressInfo).port;
    core = new HttpCore<undefined>(new URL(`http://127.0.0.1:${port}`), { timeoutMs: 5000, connections: 1 }, {
      setCookies: (lines) => lines,
      failed: (err, _req, to) => {
        failures.push(err.message);
        if (to instanceof http.ServerResponse) to.writeHead(503).end('unavailable');
      },
      clientLeft: () => undefined,
      finished: () => {
        finished += 1;
      },
      holdFor: (headers) => {
        const ms = Number(headers['x-hold']);
        delete headers['x-hold'];
        return ms;
      },
    });
    front = http.createServer((req, res) => core.forward(req, res, undefined));
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await core.close();
    await new Promise((resolve) => front.close(resolve));
    await new Promise((resolve) => upstream.close(resolve));
  });

  const get = (path: string) => fetch(`http://127.0.0.1:${(front.address() as AddressInfo).port}${path}`);

  it('comes whole at its time, without the hold header; the connection is free meanwhile', async () => {
    const started = performance.now();
    const wallStart = Math.floor(Date.now() / 1000) * 1000;
    const first = get('/held');
    // One connection to the upstream: a second request gets it while the first answer is held.
    const second = await get('/plain');
    assert.equal(await second.text(), 'refused');
    assert.ok(performance.now() - started < 1300, 'the second was answered while the first was held');
    const held = await first;
    assert.ok(performance.now() - started >= 1290, 'not before its time');
    assert.equal(held.status, 401);
    // Over a second later than it was decided: its Date (whole seconds) is past the start's second.
    assert.ok(Date.parse(held.headers.get('date') ?? '') > wallStart, `dated ${held.headers.get('date')}, when it was decided`);
    assert.equal(held.headers.get('x-hold'), null);
    assert.equal(await held.text(), 'refused');
  });

  it('a client that leaves while its answer is held ends the exchange then, not at the hold\'s time', async () => {
    const before = finished;
    const req = http.get(`http://127.0.0.1:${(front.address() as AddressInfo).port}/held`);
    req.on('error', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    req.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(finished - before, 1, 'ended when the client left');
    // The held timer, had it fired on the closed response, must not break the next one.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await (await get('/plain')).text(), 'refused');
  });

  it('an answer that breaks while held is a failure: the client gets the error page, nothing of the held part', async () => {
    const answer = await get('/broken');
    assert.equal(answer.status, 503);
    assert.equal(await answer.text(), 'unavailable');
    assert.ok(failures.some((f) => f.includes('/broken')));
    assert.ok(upstreamRequests > 0);
  });
});

describe('the pages thread\'s side of a hold (server/answer-hold.ts)', () => {
  it('a padding within the limit becomes a hold at once; beyond it, the rest is slept in the thread; outside a page request it sleeps', async () => {
    const holds = new AnswerHolds();
    const response = () => {
      const headers = new Map<string, string>();
      return { headersSent: false, setHeader: (name: string, value: string) => headers.set(name, value), headers };
    };
    const short = response();
    let started = performance.now();
    await new Promise<void>((resolve) => holds.serve(short as unknown as http.ServerResponse, () => void holds.wait(300).then(resolve)));
    assert.ok(performance.now() - started < 100, 'not slept');
    assert.equal(short.headers.get(HOLD_HEADER), '300');

    const long = response();
    started = performance.now();
    await new Promise<void>((resolve) => holds.serve(long as unknown as http.ServerResponse, () => void holds.wait(HOLD_LIMIT_MS + 200).then(resolve)));
    assert.ok(performance.now() - started >= 190, 'what the proxying thread will not hold is slept');
    assert.equal(long.headers.get(HOLD_HEADER), String(HOLD_LIMIT_MS));

    started = performance.now();
    await holds.wait(200);
    assert.ok(performance.now() - started >= 190, 'no page request: slept');
  });
});
