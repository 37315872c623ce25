import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { Browser } from './support/http-client.js';
import { startStack, type Stack } from './support/stack.js';

function open(url: string, headers: Record<string, string>): Promise<{ ws?: WebSocket; status?: number; first?: unknown }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('message', (data: Buffer) => resolve({ ws, first: JSON.parse(data.toString()) }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      ws.terminate();
    });
    ws.once('error', () => resolve({}));
  });
}

function closed(ws: WebSocket, ms = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('websockets through the gateway', () => {
  let stack: Stack;
  let alice: Browser;
  let wsUrl: string;

  before(async () => {
    stack = await startStack();
    wsUrl = stack.gateway.url.replace('http', 'ws') + '/ws/status/';
    alice = stack.browser();
    await alice.login('alice', 'alice-pass');
    await alice.get('/'); // Paperless sets its sessionid: /ws/status/ authenticates only by that cookie
  });
  after(async () => stack?.stop());

  it('accepts an upgrade with a session and carries the identity header', async () => {
    const before = stack.sim.requests.length;
    const { ws, first } = await open(wsUrl, { Cookie: alice.cookieHeader(), 'Remote-User': 'admin', remote_user: 'root' });
    assert.ok(ws, 'connected');
    assert.deepEqual(first, { type: 'hello', user: 'alice' });
    const seen = stack.sim.requests.slice(before).find((r) => r.path === '/ws/status/');
    assert.equal(seen?.remoteUser, 'alice');
    assert.equal(seen?.cookies.gateway_session, undefined);
    stack.sim.broadcast({ type: 'status', progress: 50 });
    const msg = await new Promise((resolve) => ws.once('message', (d: Buffer) => resolve(JSON.parse(d.toString()))));
    assert.deepEqual(msg, { type: 'status', progress: 50 });
    ws.close();
  });

  it('refuses an upgrade without a session with 401, before Paperless sees it', async () => {
    const before = stack.sim.requests.length;
    const anon = await open(wsUrl, { 'Remote-User': 'alice' });
    assert.equal(anon.status, 401);
    const forged = await open(wsUrl, { Cookie: 'gateway_session=s%3Aforged.sig' });
    assert.equal(forged.status, 401);
    assert.equal(stack.sim.requests.length, before);
  });

  it('refuses an upgrade from another origin (cross-site websocket hijacking), accepts its own', async () => {
    const before = stack.sim.requests.length;
    const foreign = await open(wsUrl, { Cookie: alice.cookieHeader(), Origin: 'https://evil.example' });
    assert.equal(foreign.status, 403);
    assert.equal(stack.sim.requests.length, before);
    const own = await open(wsUrl, { Cookie: alice.cookieHeader(), Origin: stack.gateway.url });
    assert.ok(own.ws);
    own.ws.close();
  });

  it("closes a session's websockets when it logs out", async () => {
    const b = stack.browser();
    await b.login('bob', 'bob-pass');
    await b.get('/');
    const { ws } = await open(wsUrl, { Cookie: b.cookieHeader() });
    assert.ok(ws);
    const other = await open(wsUrl, { Cookie: alice.cookieHeader() });
    assert.ok(other.ws);
    await b.get('/accounts/logout/');
    assert.equal(await closed(ws), true, "bob's socket closed");
    assert.equal(other.ws.readyState, WebSocket.OPEN, "alice's socket stays open");
    other.ws.close();
  });

  it('answers 502 when Paperless is down', async () => {
    const port = stack.sim.port;
    await stack.sim.stop();
    try {
      const res = await open(wsUrl, { Cookie: alice.cookieHeader() });
      assert.equal(res.status, 502);
    } finally {
      await stack.sim.start(port);
    }
  });
});
