import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { COMPILED_LAUNCH } from './support/gateway.js';
import { pollUntil } from './support/poll.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * Ends the gateway's pages thread from outside, as a crash would: through the inspector (the
 * gateway runs with --inspect on a random port), `process.exit` evaluated in the worker, which
 * ends that thread only. Nothing in the gateway offers a way to do this.
 */
async function endPagesThread(inspectorUrl: string, code: number): Promise<void> {
  const inspector = new WebSocket(inspectorUrl);
  await once(inspector, 'open');
  // Every thread the inspector reports is asked; only the one whose workerData carries the
  // pages secret exits (tsx may run a loader thread of its own beside it).
  const expression = `(() => { const { workerData } = process.getBuiltinModule('node:worker_threads'); if (typeof workerData?.secret === 'string') process.exit(${code}); })()`;
  // Only the threads there when asked: the inspector reports the restarted thread too, which must live.
  let listed = false;
  inspector.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; method?: string; params?: { sessionId: string } };
    if (message.id === 1) listed = true;
    if (listed || message.method !== 'NodeWorker.attachedToWorker' || !message.params) return;
    const evaluate = { id: 1, method: 'Runtime.evaluate', params: { expression } };
    inspector.send(JSON.stringify({ id: 2, method: 'NodeWorker.sendMessageToWorker', params: { sessionId: message.params.sessionId, message: JSON.stringify(evaluate) } }));
  });
  inspector.send(JSON.stringify({ id: 1, method: 'NodeWorker.enable', params: { waitForDebuggerOnStart: false } }));
  // Closed once the thread is gone: the caller waits for that in the gateway's log.
  setTimeout(() => inspector.close(), 3000).unref();
}

describe('the pages thread, when it ends unexpectedly', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ launch: { ...COMPILED_LAUNCH, args: ['--inspect=127.0.0.1:0', ...COMPILED_LAUNCH.args] } });
  });
  after(async () => stack?.stop());

  it('is started again, says so in the log, and pages answer again; proxied requests never stop', async () => {
    const signIn = await fetch(`${stack.gateway.url}/accounts/login/`);
    assert.equal(signIn.status, 200);
    const line = stack.gateway.logs.find((l) => l.includes('Debugger listening on ws://'));
    const inspectorUrl = /ws:\/\/\S+/.exec(line ?? '')?.[0];
    assert.ok(inspectorUrl, 'the inspector address is in the output');
    await endPagesThread(inspectorUrl, 7);
    await pollUntil(async () => stack.gateway.logs.some((l) => l.includes('"pages.exited"') && l.includes('"code":7')), 'no pages.exited line', 100, 50);
    // Proxied requests are the main thread's: they go on while the pages are away (a share link needs no sign-in).
    const share = await fetch(`${stack.gateway.url}/share/abc123/`, { redirect: 'manual' });
    assert.notEqual(share.status, 503, await share.text());
    await pollUntil(async () => stack.gateway.logs.some((l) => l.includes('"pages.restarted"')), 'no pages.restarted line', 100, 100);
    const again = await fetch(`${stack.gateway.url}/accounts/login/`);
    assert.equal(again.status, 200);
    assert.match(await again.text(), /<form/);
  });
});

describe('the pages thread, when the gateway cannot start', () => {
  it('is ended with everything else when the public port is taken, and the start fails naming it', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    // A worker thread shows as the MessagePort it talks through (the gateway uses no other).
    const threads = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'WorkerThread').length;
    const before = threads();
    try {
      // In this process: the gateway's pages thread is one of this process's threads.
      await assert.rejects(startStack({ env: { GATEWAY_PORT: String(port), GATEWAY_PUBLIC_URL: `http://127.0.0.1:${port}` } }), /EADDRINUSE/);
      assert.equal(threads(), before, 'no pages thread left running');
    } finally {
      taken.close();
    }
  });
});
