import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from './support/http-client.js';
import { documentUpload, postUpload } from './support/multipart.js';
import { startStack, type Stack } from './support/stack.js';

const MiB = 1024 * 1024;

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

  /** A well-formed upload, produced on the fly, so the test itself holds no large buffer either. */
  const upload = async (size: number): Promise<number> => (await postUpload(stack.gateway.url, alice, documentUpload(size))).status;

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
