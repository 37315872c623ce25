import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { YOUNG_GENERATION_CAP_MB } from '../src/ops/young-generation.js';
import { freePort } from './support/gateway.js';
import { pollUntil } from './support/poll.js';
import { startStack, type Stack } from './support/stack.js';

function workerPids(primary: number): number[] {
  try {
    return readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function successfulLogins(metrics: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith('gateway_logins_total{') && l.includes('outcome="success"') && l.includes('via="form"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('GATEWAY_WORKERS: one process per core', () => {
  let stack: Stack;
  let metricsUrl: string;
  before(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    stack = await startStack({ env: { GATEWAY_WORKERS: '2', GATEWAY_METRICS_ADDRESS: `127.0.0.1:${metricsPort}` } });
    await pollUntil(async () => workerPids(stack.gateway.pid).length === 2 && stack.gateway.logs.filter((l) => l.includes('gateway listening')).length === 2, 'two workers never listened');
  });
  after(async () => stack?.stop());

  it('caps the young generation in every worker (Node 22 and later)', () => {
    const expected = Number(process.versions.node.split('.')[0]) >= 22 ? { capMb: YOUNG_GENERATION_CAP_MB } : { skipped: 'Node.js before 22' };
    const listening = stack.gateway.logs.filter((l) => l.includes('gateway listening')).map((l) => (JSON.parse(l) as { youngGeneration?: unknown }).youngGeneration);
    assert.deepEqual(listening, [expected, expected]);
  });

  it('serves sessions across workers, and one scrape counts every worker', async () => {
    const b = stack.browser();
    assert.equal((await b.login('alice', 'alice-pass')).status, 303);
    // Each request is a new connection, spread over both workers: the session is shared through Redis.
    for (let i = 0; i < 6; i++) assert.equal((await b.get('/documents/')).status, 200);
    for (let i = 0; i < 6; i++) {
      const scrape = await fetch(metricsUrl);
      assert.equal(scrape.status, 200);
      assert.equal(successfulLogins(await scrape.text()), 1, 'the login is counted whichever worker answers the scrape');
    }
  });

  it('replaces a worker that dies, and stops all of them on SIGTERM with exit code 0', async () => {
    const [victim] = workerPids(stack.gateway.pid);
    assert.ok(victim);
    process.kill(victim, 'SIGKILL');
    await pollUntil(
      async () => stack.gateway.logs.some((l) => l.includes('a worker exited; starting another')) && workerPids(stack.gateway.pid).length === 2 && !workerPids(stack.gateway.pid).includes(victim),
      'the dead worker was not replaced',
    );
    await pollUntil(async () => (await stack.browser().get('/_gateway/health')).status === 200, 'no health answer after the restart');
    assert.equal(await stack.gateway.stop(), 0);
  });
});
