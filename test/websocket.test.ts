import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { Browser } from './support/http-client.js';
import { startStack, type Stack } from './support/stack.js';
import { closedWithin, nextMessage, openSocket } from './support/status-socket.js';

const open = openSocket;
const closed = closedWithin;

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

  it('accepts an upgrade with a session, carries the identity header, and relays status messages', async () => {
    const before = stack.sim.requests.length;
    const { ws } = await open(wsUrl, { Cookie: alice.cookieHeader(), 'Remote-User': 'admin', remote_user: 'root' });
    assert.ok(ws, 'connected');
    const seen = stack.sim.requests.slice(before).find((r) => r.path === '/ws/status/');
    assert.equal(seen?.remoteUser, 'alice');
    assert.equal(seen?.user, 'alice');
    assert.equal(seen?.cookies.gateway_session, undefined);
    const message = nextMessage(ws);
    const user = stack.sim.user('alice');
    assert.ok(user);
    stack.sim.statusUpdate(user, { status: 'WORKING', current_progress: 50 });
    assert.deepEqual(((await message) as { data: { status: string } }).data.status, 'WORKING');
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
    const code = new Promise<number>((resolve) => ws.once('close', (c: number) => resolve(c)));
    await b.get('/accounts/logout/');
    assert.equal(await closed(ws), true, "bob's socket closed");
    assert.equal(await code, 1008, 'with a close code saying the session ended, not a bare TCP close');
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
