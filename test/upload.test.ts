import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Browser } from './support/http-client.js';
import { startStack, type Stack } from './support/stack.js';

const MiB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x25);

/** A body produced on the fly, so the test itself holds no large buffer either. */
function body(size: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      sent += CHUNK.length;
      this.push(CHUNK);
    },
  });
}

describe('streamed uploads', () => {
  let stack: Stack;
  let alice: Browser;
  before(async () => {
    stack = await startStack();
    stack.sim.addUser({ username: 'alice', user_permissions: ['add_document'] });
    alice = stack.browser();
    await alice.login('alice', 'alice-pass');
    await alice.get('/'); // Paperless's session and CSRF cookies
  });
  after(async () => stack?.stop());

  function upload(size: number): Promise<number> {
    const url = new URL('/api/documents/post_document/', stack.gateway.url);
    return new Promise<number>((resolve, reject) => {
      const req = http.request(url, {
        method: 'POST',
        headers: {
          Cookie: alice.cookieHeader(),
          Origin: stack.gateway.url,
          'X-CSRFToken': alice.jar.get('csrftoken') ?? '',
          'Content-Type': 'multipart/form-data; boundary=x',
          'Content-Length': String(size),
        },
      });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      body(size).pipe(req);
    });
  }

  it("streams uploads to Paperless with the gateway's memory flat (256 MiB, then 1 GiB)", async () => {
    // The first large upload lets V8 size its heaps (Node 24 grows more eagerly than 20); it must arrive whole.
    assert.equal(await upload(256 * MiB), 200);
    assert.deepEqual(stack.sim.uploads.at(-1), { user: 'alice', bytes: 256 * MiB });
    // Then a body four times larger may not raise the peak: a gateway that buffered would grow by ~1 GiB.
    const peakBefore = stack.gateway.peakRss();
    assert.equal(await upload(1024 * MiB), 200);
    assert.deepEqual(stack.sim.uploads.at(-1), { user: 'alice', bytes: 1024 * MiB });
    const growth = stack.gateway.peakRss() - peakBefore;
    assert.ok(growth < 32 * MiB, `gateway peak RSS grew by ${(growth / MiB).toFixed(1)} MiB while streaming 1 GiB`);
  });
});
