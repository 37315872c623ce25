import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from '../support/http-client.js';
import { documentUpload, postUpload } from '../support/multipart.js';
import { pollUntil } from '../support/poll.js';
import { COMPILED_LAUNCH } from '../support/gateway.js';
import { startStack, type Stack } from '../support/stack.js';

const MiB = 1024 * 1024;

describe('streamed uploads', () => {
  let stack: Stack;
  let alice: Browser;
  before(async () => {
    // The gateway's own memory is measured: a process of its own.
    // Debug lines: the trims at rest are checked below.
    stack = await startStack({ launch: COMPILED_LAUNCH, env: { GATEWAY_LOG_LEVEL: 'debug' } });
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
    // V8 lets up to 64 MiB of freed Buffers wait for a collection (its external-memory soft limit),
    // so a busy machine can show that much; a gateway that buffered would grow by ~1 GiB.
    // The exact check of streaming is backpressure, below.
    assert.ok(growth < 96 * MiB, `gateway peak RSS grew by ${(growth / MiB).toFixed(1)} MiB while streaming 1 GiB`);
  });

  it('passes backpressure on: when Paperless stops reading, the browser stops sending, and nothing is lost', async () => {
    const release = stack.sim.faults.holdUploads();
    const body = documentUpload(1024 * MiB);
    const answer = postUpload(stack.gateway.url, alice, body);
    try {
      // Wait until the client can send no more: only socket buffers (kernel and ours) are in between.
      let last = -1;
      await pollUntil(
        async () => {
          const now = body.produced();
          const stalled = now === last && now > 0;
          last = now;
          return stalled;
        },
        'the upload never stalled although Paperless stopped reading',
        100,
        500,
      );
      // Loopback buffers here may hold up to 32 MiB per receiving socket (tcp_rmem), two hops.
      assert.ok(body.produced() < 128 * MiB, `the gateway accepted ${(body.produced() / MiB).toFixed(0)} MiB while Paperless read nothing`);
    } finally {
      release();
    }
    assert.equal((await answer).status, 200);
    assert.deepEqual(stack.sim.uploads.at(-1), { user: 'alice', bytes: 1024 * MiB });
  });

  it('gives memory back once at rest after them (src/ops/idle-trim.ts), as the pages thread did at its first rest', async () => {
    const busy = stack.gateway.rss();
    const from = stack.gateway.logs.length;
    const trims = (lines: string[]) => lines.filter((l) => l.includes('"memory.trimmed"')).map((l) => JSON.parse(l) as { thread: string; rssBeforeMiB: number; rssAfterMiB: number });
    // Two restful looks 2.5 s apart, then the collection: about 5–8 s.
    await pollUntil(async () => trims(stack.gateway.logs.slice(from)).some((t) => t.thread === 'proxying'), `the proxying thread was not trimmed within 20 s of rest:\n${stack.gateway.logs.slice(from).join('\n')}`, 80, 250);
    const rested = stack.gateway.rss();
    // The pages thread did no work since its first rest (the sign-in was before it; the backpressure test's held upload gave it one too).
    assert.ok(trims(stack.gateway.logs).some((t) => t.thread === 'pages'), 'the pages thread was never trimmed');
    // Node 20's V8 has no memory-reducing collection (an ordinary full one runs instead).
    if (Number(process.versions.node.split('.')[0]) >= 22) {
      assert.ok(rested < busy - 8 * MiB, `RSS ${(busy / MiB).toFixed(1)} MiB after the uploads, ${(rested / MiB).toFixed(1)} MiB at rest (${JSON.stringify(trims(stack.gateway.logs))})`);
    }
  });
});
