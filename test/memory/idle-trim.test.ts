/**
 * Memory given back at rest (src/ops/idle-trim.ts): when a trim runs (the policy, on a made-up
 * event loop and clock), that V8's memory-reducing collection really gives memory back (in a fresh
 * process, as a gateway's thread would), and that `gc` is not left on anyone's global.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { IdleTrim, type IdleTrimPolicy } from '../../src/ops/idle-trim.js';
import { REPO_ROOT } from '../support/gateway.js';

const POLICY: IdleTrimPolicy = { everyMs: 1000, restfulLooks: 2, restBelow: 0.05, workMs: 250 };

/** A thread whose event loop and clock the test moves; counts the collections. */
function thread() {
  const state = { active: 0, now: 0, collections: 0, collectionMs: 0 };
  const trim = new IdleTrim(
    () => {
      state.collections++;
      state.now += state.collectionMs;
      state.active += state.collectionMs;
    },
    () => state.active,
    () => state.now,
    POLICY,
  );
  /** One second passes, `busyMs` of it working; then the trimmer looks. */
  const second = (busyMs: number) => {
    state.now += 1000;
    state.active += busyMs;
    return trim.look();
  };
  return { state, second };
}

describe('idle trim: when', () => {
  it('trims once a started thread has rested for two looks, and says what it gave back', () => {
    const { state, second } = thread();
    state.collectionMs = 40;
    assert.equal(second(10), undefined, 'one restful look is not yet rest');
    const trimmed = second(10);
    assert.ok(trimmed, 'start-up counts as work: the first rest after it is trimmed');
    assert.equal(state.collections, 1);
    assert.equal(trimmed.ms, 40);
    assert.ok(trimmed.rssBefore > 0 && trimmed.rssAfter > 0);
  });

  it('never trims a thread that keeps working, however long', () => {
    const { state, second } = thread();
    for (let i = 0; i < 100; i++) second(i % 2 === 0 ? 60 : 900);
    assert.equal(state.collections, 0);
  });

  it('needs the rests in a row: work between two quiet seconds starts the count again', () => {
    const { state, second } = thread();
    second(10);
    second(400);
    second(10);
    assert.equal(state.collections, 0);
    second(10);
    assert.equal(state.collections, 1);
  });

  it('does not trim again until the thread has worked since (its own collection is not work)', () => {
    const { state, second } = thread();
    state.collectionMs = 300;
    second(0);
    second(0);
    assert.equal(state.collections, 1);
    // Timers alone: 20 ms a second is rest, and adds up to enough work only after a while.
    for (let i = 0; i < 11; i++) second(20);
    assert.equal(state.collections, 1, '220 ms of timers are not yet worth a collection');
    for (let i = 0; i < 3; i++) second(20);
    assert.equal(state.collections, 2, 'once they add up to 250 ms, the next rest trims');
  });

  it('after a busy spell, trims at the next rest', () => {
    const { state, second } = thread();
    second(0);
    second(0);
    for (let i = 0; i < 5; i++) second(800);
    assert.equal(state.collections, 1);
    second(0);
    second(0);
    assert.equal(state.collections, 2);
  });
});

/**
 * A fresh process: a young generation grown as a busy thread's is, then one trim. Prints the heap
 * V8 holds before and after, and whether `gc` showed up anywhere it should not.
 */
const SCRIPT = `
import vm from 'node:vm';
import { memoryReducingCollection } from './src/ops/idle-trim.ts';
let live = [];
for (let i = 0; i < 3e6; i++) { live.push({ n: i, s: 'x' + i }); if (live.length > 2000) live = []; }
live = [];
const before = process.memoryUsage().heapTotal;
const collect = memoryReducingCollection();
collect();
const after = process.memoryUsage().heapTotal;
process.stdout.write(JSON.stringify({ before, after, globalGc: typeof globalThis.gc, contextGc: vm.runInNewContext('typeof gc') }));
`;

describe('idle trim: the collection', () => {
  it('gives back the heap a busy young generation kept, and leaves gc on no global', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    const { before, after, globalGc, contextGc } = JSON.parse(run.stdout) as { before: number; after: number; globalGc: string; contextGc: string };
    assert.equal(globalGc, 'undefined', 'the module global never gets gc');
    assert.equal(contextGc, 'undefined', 'the flag is unset again: later contexts get no gc');
    // Node 20's V8 has no memory-reducing flavour; its full collection need not shrink anything.
    if (Number(process.versions.node.split('.')[0]) >= 22) {
      assert.ok(after < before - 8 * 1048576, `V8's heap went from ${(before / 1048576).toFixed(1)} to ${(after / 1048576).toFixed(1)} MiB`);
    }
  });
});
