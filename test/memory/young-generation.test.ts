/**
 * The young-generation cap (src/ops/young-generation.ts): on Node 22 and later it bounds the dead
 * socket buffers a large transfer leaves resident; on Node 20 it is not set (V8 11 has no such
 * flag, and its own bound is 32 MiB). Each measurement runs in a fresh process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { capYoungGeneration, YOUNG_GENERATION_CAP_MB } from '../../src/ops/young-generation.js';
import { REPO_ROOT } from '../support/gateway.js';

const MIB = 1024 * 1024;
const modern = Number(process.versions.node.split('.')[0]) >= 22;

/**
 * What a proxy does to memory while a large body passes: short-lived objects as requests make
 * them (so the young generation has grown), then 512 MiB in 64 KiB buffers, each written and
 * dropped as a socket's read buffer is. V8 frees the dead buffers on another thread while the next
 * ones pile up, and tsx runs beside: on Node 24 the capped growth was 26–37 MiB, the uncapped
 * 75–116. Measured as the benchmark measures (test/bench/processes.ts). Prints the cap's outcome
 * and the peak RSS growth.
 */
const CHURN = `
import { capYoungGeneration } from './src/ops/young-generation.ts';
import { resetPeakMemory, treeMemory } from './test/bench/processes.ts';
const outcome = process.env.CAP === '1' ? capYoungGeneration() : null;
let live = [];
for (let i = 0; i < 3e6; i++) { live.push({ n: i, s: 'x' + i }); if (live.length > 2000) live = []; }
resetPeakMemory(process.pid);
const before = treeMemory(process.pid);
for (let i = 0; i < 8192; i++) {
  Buffer.allocUnsafeSlow(65536).fill(i & 255);
  // A megabyte per turn of the event loop, as sockets deliver it: V8 frees dead buffers on
  // another thread after each collection, and a loop that never yields outruns it.
  if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
}
process.stdout.write(JSON.stringify({ outcome, growth: treeMemory(process.pid, 'VmHWM') - before }));
`;

function churn(cap: boolean, nodeArgs: string[] = []): { outcome: unknown; growth: number; stderr: string } {
  const run = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', '--input-type=module', '-e', CHURN], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, CAP: cap ? '1' : '0' },
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const { outcome, growth } = JSON.parse(run.stdout) as { outcome: unknown; growth: number };
  return { outcome, growth: growth / MIB, stderr: run.stderr };
}

describe('young-generation cap', () => {
  it('is set on Node 22 and later, left to the command line when given there, and not set on Node 20', () => {
    assert.deepEqual(capYoungGeneration(['--scavenger-max-new-space-capacity-mb=16'], '24.1.0'), { skipped: 'set on the command line' });
    assert.deepEqual(capYoungGeneration(['--scavenger_max_new_space_capacity_mb=16'], '22.0.0'), { skipped: 'set on the command line' });
    assert.deepEqual(capYoungGeneration([], '20.20.2'), { skipped: 'Node.js before 22' });
  });

  it(`keeps a 512 MiB stream of dead buffers from piling up (Node ${process.versions.node})`, () => {
    const capped = churn(true);
    // No warning from V8 on any Node: an unknown flag would print "unrecognized flag".
    assert.equal(capped.stderr, '');
    if (!modern) {
      assert.deepEqual(capped.outcome, { skipped: 'Node.js before 22' });
      // V8 11's own bound: twice its 16 MiB semi-space.
      assert.ok(capped.growth < 56, `peak growth ${capped.growth.toFixed(1)} MiB on Node 20`);
      return;
    }
    assert.deepEqual(capped.outcome, { capMb: YOUNG_GENERATION_CAP_MB });
    const uncapped = churn(false);
    // Without the cap V8 12+ waits for 128 MiB of them; with it, for 8 MiB.
    assert.ok(uncapped.growth > 56, `uncapped peak growth ${uncapped.growth.toFixed(1)} MiB: the measurement no longer shows V8's default`);
    assert.ok(capped.growth < 48, `capped peak growth ${capped.growth.toFixed(1)} MiB (uncapped ${uncapped.growth.toFixed(1)} MiB)`);
    // The operator's value on the command line is the one V8 uses.
    const operator = churn(true, ['--scavenger-max-new-space-capacity-mb=32']);
    assert.deepEqual(operator.outcome, { skipped: 'set on the command line' });
    assert.ok(operator.growth > 56, `peak growth ${operator.growth.toFixed(1)} MiB with the default given on the command line`);
  });
});
