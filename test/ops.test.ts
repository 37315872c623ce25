import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { freePort, runCliToEnd } from './support/gateway.js';
import { Browser } from './support/http-client.js';
import { documentUpload, postUpload } from './support/multipart.js';
import { pollUntil } from './support/poll.js';
import { rawRequest } from './support/raw-http.js';
import { startStack, type Stack } from './support/stack.js';

function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('operations endpoints', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_METRICS_TOKEN: 'metrics-secret-0123456789' } });
  });
  after(async () => stack?.stop());

  const metricsText = async () => (await stack.browser().get('/_gateway/metrics', { headers: [['Authorization', 'Bearer metrics-secret-0123456789']] })).body;

  const METRICS_AUTH: Array<[string, string]> = [['Authorization', 'Bearer metrics-secret-0123456789']];
  const readyWithToken = () => stack.browser().get('/_gateway/ready', { headers: METRICS_AUTH });

  it('ready: every dependency up, with latencies (for the metrics token)', async () => {
    const res = await readyWithToken();
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body);
    assert.equal(body.status, 'ready');
    for (const name of ['redis', 'directory', 'paperless']) {
      assert.equal(body.checks[name].status, 'up', name);
      assert.equal(typeof body.checks[name].latencyMs, 'number');
    }
  });

  it('ready: 503 naming each dependency that is down (for the metrics token), a bare "failing" for anyone; health stays 200', async () => {
    const port = stack.sim.port;
    await stack.redis.stop();
    await stack.slapd.stop();
    await stack.sim.stop();
    try {
      for (const headers of [[], [['Authorization', 'Bearer wrong']], [['Authorization', 'Basic bWV0cmljczptZXRyaWNzLXNlY3JldC0wMTIzNDU2Nzg5']]] as Array<Array<[string, string]>>) {
        const anonymous = await stack.browser().get('/_gateway/ready', { headers });
        assert.equal(anonymous.status, 503);
        assert.deepEqual(JSON.parse(anonymous.body), { status: 'unavailable', checks: { redis: 'failing', directory: 'failing', paperless: 'failing' } }, JSON.stringify(headers));
        assert.doesNotMatch(anonymous.body, /GATEWAY_|Redis at|latency/, 'no hint at how the gateway is set up');
      }
      const res = await readyWithToken();
      assert.equal(res.status, 503);
      const body = JSON.parse(res.body);
      assert.deepEqual([body.checks.redis.status, body.checks.directory.status, body.checks.paperless.status], ['down', 'down', 'down']);
      assert.ok(body.checks.directory.error.length > 0);
      assert.match(body.checks.redis.error, /^Redis at 127\.0\.0\.1:\d+ is unreachable: .+\. Check that Redis runs and that GATEWAY_REDIS_URL points at it\.$/);
      assert.doesNotMatch(body.checks.redis.error, /writeable|enableOfflineQueue/, "ioredis's own words say nothing to an admin");
      assert.equal((await stack.browser().get('/_gateway/health')).status, 200);
      assert.deepEqual(JSON.parse((await stack.browser().get('/_gateway/health')).body), { status: 'ok' });
    } finally {
      await Promise.all([stack.redis.start(), stack.slapd.start(), stack.sim.start(port)]);
    }
    await pollUntil(async () => (await stack.browser().get('/_gateway/ready')).status === 200, 'not ready again after the dependencies came back', 50, 200);
    assert.deepEqual(JSON.parse((await stack.browser().get('/_gateway/ready')).body), { status: 'ready', checks: { redis: 'ok', directory: 'ok', paperless: 'ok' } }, 'anyone: ok per check, nothing more');
  });

  it('ready without a metrics token configured: never any details, whatever the caller sends', async () => {
    const bare = await startStack();
    try {
      await bare.slapd.stop();
      try {
        const res = await bare.browser().get('/_gateway/ready', { headers: [['Authorization', 'Bearer ']] });
        assert.equal(res.status, 503);
        assert.deepEqual(JSON.parse(res.body), { status: 'unavailable', checks: { redis: 'ok', directory: 'failing', paperless: 'ok' } });
      } finally {
        await bare.slapd.start();
      }
    } finally {
      await bare.stop();
    }
  });

  it('without a token, metrics are not on the public listener but on GATEWAY_METRICS_ADDRESS alone', async () => {
    const metricsPort = await freePort();
    const open = await startStack({ env: { GATEWAY_METRICS_ADDRESS: `127.0.0.1:${metricsPort}` } });
    try {
      const publicScrape = await open.browser().get('/_gateway/metrics');
      assert.equal(publicScrape.status, 404);
      assert.match(JSON.parse(publicScrape.body).detail, /GATEWAY_METRICS_ADDRESS/);
      const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(scrape.status, 200);
      assert.match(await scrape.text(), /# TYPE gateway_logins_total counter/);
      assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/documents/`)).status, 404, 'the metrics listener proxies nothing');
    } finally {
      await open.stop();
    }
    const invalid = await runCliToEnd(['check-config'], { ...stack.gateway.env, GATEWAY_METRICS_ADDRESS: 'nine-one-hundred' });
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /GATEWAY_METRICS_ADDRESS.*host:port/);
  });

  it('metrics need the bearer token when one is set', async () => {
    assert.equal((await stack.browser().get('/_gateway/metrics')).status, 401);
    assert.equal((await stack.browser().get('/_gateway/metrics', { headers: [['Authorization', 'Bearer wrong']] })).status, 401);
    assert.match(await metricsText(), /# TYPE gateway_logins_total counter/);
  });

  it('counters move with real traffic', async () => {
    const before = await metricsText();
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    await stack.browser().login('alice', 'wrong');
    await b.get('/documents/');
    await b.get('/');
    const ws = new WebSocket(stack.gateway.url.replace('http', 'ws') + '/ws/status/', { headers: { Cookie: b.cookieHeader() } });
    await new Promise((resolve) => ws.once('open', resolve));
    const during = await metricsText();
    ws.close();
    const grew = (name: string, labels = '') => metricValue(during, name, labels) - metricValue(before, name, labels);
    assert.equal(grew('gateway_logins_total', 'outcome="success",via="form"'), 1);
    assert.equal(grew('gateway_logins_total', 'outcome="invalid",via="form"'), 1);
    assert.ok(grew('gateway_proxied_request_seconds_count', 'status_class="2xx"') >= 2);
    assert.ok(grew('gateway_directory_operation_seconds_count', 'operation="authenticate",outcome="ok"') >= 1);
    assert.ok(grew('gateway_provisioning_calls_total', 'result="ok"') >= 1);
    assert.equal(metricValue(during, 'gateway_websockets_active'), 1);
  });

  it("one scrape holds both threads' metrics, each once, and the process's own", async () => {
    const browser = stack.browser();
    await browser.login('alice', 'alice-pass');
    assert.equal((await browser.get('/documents/')).status, 200);
    const text = await metricsText();
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    assert.deepEqual(types, [...new Set(types)], 'a metric held by both threads is one metric');
    // The process's own, which only the proxying thread collects, keep their values (prom-client's
    // aggregation would drop the start time and average others).
    assert.ok(metricValue(text, 'gateway_process_process_start_time_seconds') > 1_700_000_000, 'start time kept');
    assert.ok(metricValue(text, 'gateway_process_process_resident_memory_bytes') > 0);
    // Sign-ins are counted in the pages thread, proxied requests in the proxying thread.
    assert.ok(metricValue(text, 'gateway_logins_total', 'outcome="success",via="form"') >= 1);
    assert.ok(metricValue(text, 'gateway_proxied_request_seconds_count', 'status_class="2xx"') >= 1);
  });

  it("the gateway's pages run in a thread of their own that answers nobody but the gateway", async () => {
    const line = stack.gateway.logs.find((l) => l.includes('"event":"pages.listening"'));
    assert.ok(line, 'the pages thread says where it listens');
    const port = (JSON.parse(line) as { port: number }).port;
    const nothing = await rawRequest(port, 'GET /_gateway/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(nothing, /^HTTP\/1\.1 403 /, 'no secret, no page');
    const guessed = await rawRequest(port, 'GET /_gateway/health HTTP/1.1\r\nHost: x\r\nX-Gateway-Pages-Secret: guessed\r\nConnection: close\r\n\r\n');
    assert.match(guessed, /^HTTP\/1\.1 403 /, 'a wrong secret, no page');
    // A client's own secret header is replaced by the gateway's, so the page still answers.
    const through = await stack.browser().get('/_gateway/health', { headers: [['X-Gateway-Pages-Secret', 'guessed']] });
    assert.equal(through.status, 200);
  });

  it('every request gets an id, in the response and passed to Paperless; a client cannot choose it', async () => {
    const b = stack.browser();
    await b.login('bob', 'bob-pass');
    const res = await b.get('/documents/', { headers: [['X-Request-Id', 'chosen-by-client']] });
    const id = String(res.headers['x-request-id']);
    assert.match(id, /^[0-9a-f-]{36}$/);
    const seen = stack.sim.requestsTo('/documents/').at(-1);
    assert.deepEqual(seen?.rawHeaders.filter(([k]) => k.toLowerCase() === 'x-request-id').map(([, v]) => v), [id]);
    // The request is logged once its response has gone out, and only once.
    for (let i = 0; i < 20 && !stack.gateway.logs.some((l) => l.includes(`"reqId":"${id}"`)); i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(stack.gateway.logs.filter((l) => l.includes(`"reqId":"${id}"`)).length, 1);
  });

  it("the id is on every answer: Paperless's, the gateway's pages, refusals, the sign-in redirect, the 502 page", async () => {
    const anonymous = stack.browser();
    const signedIn = stack.browser();
    await signedIn.login('bob', 'bob-pass');
    const ids = new Set<string>();
    const idOf = (what: string, res: { status: number; headers: Record<string, string | string[] | undefined> }, status: number) => {
      assert.equal(res.status, status, what);
      const id = res.headers['x-request-id'];
      assert.equal(typeof id, 'string', `${what}: one X-Request-Id`);
      assert.match(String(id), /^[0-9a-f-]{36}$/, what);
      ids.add(String(id));
    };
    idOf('the sign-in page', await anonymous.get('/accounts/login/'), 200);
    idOf('a page without a session', await anonymous.get('/documents/'), 302);
    idOf('an API call without a session', await anonymous.get('/api/documents/'), 401);
    idOf('a health check', await anonymous.get('/_gateway/health'), 200);
    idOf('a proxied answer', await signedIn.get('/documents/'), 200);
    // Paperless's own X-Request-Id does not replace the gateway's.
    stack.sim.faults.answerWith = (_req, res) => res.writeHead(200, { 'X-Request-Id': 'from-paperless', 'Content-Length': '0' }).end();
    try {
      idOf("an answer carrying Paperless's own id", await signedIn.get('/api/documents/'), 200);
      stack.sim.faults.answerWith = (req) => req.socket.destroy();
      idOf('the 502 page', await signedIn.get('/api/documents/'), 502);
    } finally {
      stack.sim.faults.answerWith = undefined;
    }
    assert.equal(ids.size, 7, 'a new id for each request');
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM during a streamed upload lets it finish, closes websockets with 1001, then exits 0', async () => {
    const stack = await startStack();
    try {
      stack.sim.addUser({ username: 'alice', user_permissions: ['add_document'] });
      const b = stack.browser();
      await b.login('alice', 'alice-pass');
      await b.get('/');
      const ws = new WebSocket(stack.gateway.url.replace('http', 'ws') + '/ws/status/', { headers: { Cookie: b.cookieHeader() } });
      await new Promise((resolve) => ws.once('open', resolve));
      const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

      const chunk = Buffer.alloc(64 * 1024, 1);
      const total = 40;
      // A slow body: 40 chunks over about two seconds.
      const body = documentUpload(total * chunk.length, { chunk, delayMs: 50 });
      const upload = postUpload(stack.gateway.url, b, body).then((r) => r.status);
      await new Promise((r) => setTimeout(r, 500));
      const exit = stack.gateway.stop();
      assert.equal(await wsClosed, 1001);
      assert.equal(await upload, 200);
      assert.deepEqual(stack.sim.uploads.at(-1), { user: 'alice', bytes: total * chunk.length });
      assert.equal(await exit, 0);
      await assert.rejects(new Browser(stack.gateway.url).get('/_gateway/health'), 'no longer accepting');
    } finally {
      await stack.stop();
    }
  });
});
