/**
 * `npm run bench:quick`: the gateway's cost per proxied request against the bare undici core,
 * alternating rounds so both see the same machine. For trying a change in a minute; the
 * targets are judged by `npm run bench` alone.
 *   BENCH_ROUNDS (3), BENCH_SECONDS (5), BENCH_PROFILE=<dir> (--cpu-prof for the gateway and the core),
 *   BENCH_GATEWAY_ENV='{"NAME":"value"}', BENCH_SIGN_INS=<n> (sign-ins to the last gateway halfway),
 *   BENCH_BETWEEN_PATH=/_gateway/health (3 s of requests to that path of the last gateway halfway),
 *   BENCH_HALFWAY_WEBSOCKETS=<n> (n websockets opened and closed halfway), BENCH_HALFWAY_TRANSFER_BYTES=<n>
 *   (an upload and a download of n bytes halfway): each part of the full benchmark's "heavy use" alone,
 *   BENCH_HALFWAY_FULL_GC=1 (after the halfway steps, a full collection, by a heap snapshot),
 *   BENCH_HALFWAY_VARIED=<n> (n proxied requests halfway whose extra headers differ, as browsers and apps differ),
 *   BENCH_HALFWAY_ALL=1 (the sign-ins and requests halfway to every gateway, not the last only),
 *   BENCH_OTHER=<path to another build's dist/main.js>: measured beside this one, same rounds,
 *   (two identical builds: 'gateway' measured about 8 % faster than 'other', in either start and
 *   round order, for reasons not found; compare two builds both ways round, running this script
 *   from each checkout with the other as BENCH_OTHER, and take the geometric mean of the ratios),
 *   BENCH_OTHER_NODE_ARGS='--trace-deopt' (node options for that one; BENCH_NODE_ARGS for this one), BENCH_KEEP_LOGS=1,
 *   BENCH_TRANSFER_BYTES=<n>: an upload and a download of n bytes through each at the end,
 *   BENCH_PIN=1: the gateway and the core on CPU 0, everything else on CPU 1 (less noise on 2 cores).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from '../support/gateway.js';
import { Browser } from '../support/http-client.js';
import { PaperlessSim } from '../support/paperless-sim.js';
import { RedisServer } from '../support/redis.js';
import { Slapd } from '../support/slapd.js';
import { gatewayEnv, resetPeakMemory, startGateway, startScript, stop, TICKS, treeCpuMs, treeMemory } from './processes.js';
import { download, upload } from './transfers.js';
import { openMany } from './websockets.js';
import { wrk } from './wrk.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SIGN_INS = Number(process.env.BENCH_SIGN_INS ?? 0);
const BETWEEN_PATH = process.env.BENCH_BETWEEN_PATH;
const PROFILE_DIR = process.env.BENCH_PROFILE;
const PIN = process.env.BENCH_PIN === '1';
const TRANSFER = Number(process.env.BENCH_TRANSFER_BYTES ?? 0);
const OTHER = process.env.BENCH_OTHER;
const SNAPSHOTS = process.env.BENCH_HEAP_SNAPSHOTS === '1';
const HALFWAY_WEBSOCKETS = Number(process.env.BENCH_HALFWAY_WEBSOCKETS ?? 0);
const FULL_GC = process.env.BENCH_HALFWAY_FULL_GC === '1';
const HALFWAY_TRANSFER = Number(process.env.BENCH_HALFWAY_TRANSFER_BYTES ?? 0);
const HALFWAY_VARIED = Number(process.env.BENCH_HALFWAY_VARIED ?? 0);
const HALFWAY_ALL = process.env.BENCH_HALFWAY_ALL === '1';
const NODE_ARGS = (process.env.BENCH_OTHER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const OWN_NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Moves a process (every thread) to one CPU. */
function pin(pid: number | undefined, cpu: number): void {
  if (!PIN || pid === undefined) return;
  const done = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { encoding: 'utf8' });
  if (done.status !== 0) throw new Error(`taskset failed: ${done.stderr}`);
}

async function signIn(url: string): Promise<string> {
  const browser = new Browser(url);
  const reply = await browser.login('alice', 'alice-pass');
  if (reply.status !== 303 && reply.status !== 302) throw new Error(`sign-in failed with ${reply.status}`);
  return browser.cookieHeader();
}

async function round(url: string, pid: number, headers: Record<string, string>): Promise<{ rps: number; us: number }> {
  await wrk(url, { seconds: 1, connections: 50, headers });
  const before = treeCpuMs([pid]);
  const result = await wrk(url, { seconds: SECONDS, connections: 50, headers });
  if (result.errors > 0) throw new Error(`${result.errors} failed requests`);
  return { rps: result.requestsPerSecond, us: ((treeCpuMs([pid]) - before) * 1000) / result.requests };
}

/** A heap snapshot of the process in `dir` (Node writes it on SIGUSR2 with --heapsnapshot-signal). */
async function heapSnapshot(pid: number, dir: string): Promise<void> {
  const count = () => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')).length;
  const before = count();
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 600 && count() === before; i++) await new Promise((r) => setTimeout(r, 100));
  // Written in pieces: wait until its size stops changing.
  let size = -1;
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    if (now === size) break;
    size = now;
  }
}

/** CPU seconds so far of each thread of a process, by thread name: where the time outside the main thread goes. */
function threadCpu(pid: number): string {
  const byName = new Map<string, string>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const name = `${stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))}#${tid === String(pid) ? "main" : tid}`;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = Number(fields[11]) / TICKS;
    const system = Number(fields[12]) / TICKS;
    if (user + system >= 0.1) byName.set(name, `${name} user ${user.toFixed(1)} s, system ${system.toFixed(1)} s`);
  }
  return [...byName.values()].join('; ');
}

/** Proxied GETs whose extra headers differ in set and order, as different browsers and apps send them. */
async function variedRequests(url: string, count: number, headers: Record<string, string>): Promise<void> {
  const extras = ['accept-language', 'referer', 'dnt', 'sec-fetch-mode', 'sec-fetch-site', 'x-requested-with', 'if-none-match', 'cache-control', 'pragma', 'upgrade-insecure-requests'];
  for (let i = 0; i < count; i++) {
    const picked = extras.filter((_, j) => (i >> j) & 1);
    const own: Record<string, string> = {};
    for (const name of i % 2 ? picked.reverse() : picked) own[name] = 'x';
    const reply = await fetch(url, { headers: { ...own, ...headers } });
    await reply.arrayBuffer();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'gw-quick-'));
  const slapd = new Slapd();
  const redis = new RedisServer();
  const sim = new PaperlessSim();
  const children: ChildProcess[] = [];
  try {
    pin(process.pid, 1);
    await Promise.all([slapd.start().then(() => slapd.seed()), redis.start(), sim.start()]);
    const [upstreamPort, undiciPort, gatewayPort, otherPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
    children.push(await startScript('upstream.ts', [String(upstreamPort)], upstreamPort as number));
    // Profiled beside the gateway: the difference between the two profiles is what the gateway adds.
    // One directory each: tsx's loader thread writes a profile of its own (the smaller file).
    const profile = (name: string) => (PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, name)}`] : []);
    const core = await startScript('bare-undici.ts', [upstreamUrl, String(undiciPort)], undiciPort as number, profile('core'));
    children.push(core);
    pin(core.pid, 0);
    const token = sim.tokenFor(sim.addUser({ username: 'gateway-admin', is_superuser: true, is_staff: true }).username);
    const parts = { ldapUrl: slapd.url, redisUrl: redis.url, upstreamUrl, paperlessApiUrl: sim.url, paperlessToken: token };
    const setups: { name: string; url: string; pid: number; headers: Record<string, string>; runs: { rps: number; us: number }[] }[] = [
      { name: 'core', url: `http://127.0.0.1:${undiciPort}`, pid: core.pid ?? 0, headers: {}, runs: [] },
    ];
    const gateways: [string, number, string | undefined][] = [['gateway', gatewayPort as number, undefined]];
    if (OTHER) gateways.push(['other', otherPort as number, OTHER]);
    for (const [name, port, main] of gateways) {
      const gateway = await startGateway(gatewayEnv(parts, port, '1'), join(work, `${name}.log`), [...(main ? [] : profile(name)), ...(main ? NODE_ARGS : OWN_NODE_ARGS), ...((SNAPSHOTS || FULL_GC) && (main || !OTHER) ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${work}`] : [])], main);
      children.push(gateway);
      pin(gateway.pid, 0);
      const url = `http://127.0.0.1:${port}`;
      setups.push({ name, url, pid: gateway.pid ?? 0, headers: { Cookie: await signIn(url), Origin: url }, runs: [] });
    }
    // The core gets the same request as the gateways (the signed-in browser's headers).
    const [coreSetup, firstGateway] = setups;
    if (coreSetup && firstGateway) coreSetup.headers = firstGateway.headers;
    const path = '/api/documents/';
    for (let i = 0; i < ROUNDS; i++) {
      // The last gateway only: beside BENCH_OTHER set to this build, the first one is the control.
      // With BENCH_HALFWAY_ALL=1 every gateway gets it (two builds, each against its own rounds before).
      const halfway = HALFWAY_ALL ? setups.slice(1) : setups.slice(-1);
      if (i === Math.floor(ROUNDS / 2)) {
        for (const setup of halfway) {
          if (SNAPSHOTS) await heapSnapshot(setup.pid, work);
          for (let n = 0; n < SIGN_INS; n++) await signIn(setup.url);
          // Requests to one of the gateway's own pages (Express) in between: what they leave behind.
          if (BETWEEN_PATH) await wrk(`${setup.url}${BETWEEN_PATH}`, { seconds: 3, connections: 10 });
          if (HALFWAY_WEBSOCKETS > 0) {
            const sockets = await openMany(`${setup.url.replace('http', 'ws')}/ws/status/`, HALFWAY_WEBSOCKETS, setup.headers);
            await Promise.all(sockets.map((ws) => new Promise((resolve) => ws.once('close', resolve).close())));
          }
          if (HALFWAY_VARIED > 0) await variedRequests(`${setup.url}${path}`, HALFWAY_VARIED, setup.headers);
          if (HALFWAY_TRANSFER > 0) {
            await upload(`${setup.url}/bench/upload`, HALFWAY_TRANSFER, setup.headers);
            await download(`${setup.url}/bench/big?bytes=${HALFWAY_TRANSFER}`, HALFWAY_TRANSFER, setup.headers);
          }
          // A heap snapshot collects the whole heap first: what is left after it is not heap state.
          if (FULL_GC) await heapSnapshot(setup.pid, work);
        }
      }
      const line: string[] = [];
      // The gateways take turns going first in a round.
      const order = i % 2 === 0 ? setups : [...setups.slice(0, 1), ...setups.slice(1).reverse()];
      for (const setup of order) {
        const run = await round(`${setup.url}${path}`, setup.pid, setup.headers);
        setup.runs.push(run);
        line.push(`${setup.name} ${Math.round(run.rps)} req/s ${run.us.toFixed(1)} µs`);
      }
      process.stderr.write(`round ${i + 1}: ${line.join('; ')}\n`);
    }
    const last = setups.at(-1);
    if (SNAPSHOTS && last) await heapSnapshot(last.pid, work);
    if (TRANSFER > 0) {
      for (const setup of setups) {
        const before = treeMemory(setup.pid);
        resetPeakMemory(setup.pid);
        const up = await upload(`${setup.url}/bench/upload`, TRANSFER, setup.headers);
        const down = await download(`${setup.url}/bench/big?bytes=${TRANSFER}`, TRANSFER, setup.headers);
        const growth = (treeMemory(setup.pid, 'VmHWM') - before) / 1024 ** 2;
        process.stdout.write(`transfer ${setup.name}: upload ${(TRANSFER / 1024 ** 2 / up).toFixed(0)} MiB/s, download ${(TRANSFER / 1024 ** 2 / down).toFixed(0)} MiB/s, peak RSS growth ${growth.toFixed(1)} MiB\n`);
      }
    }
    const cu = median(coreSetup?.runs.map((r) => r.us) ?? []);
    const cr = median(coreSetup?.runs.map((r) => r.rps) ?? []);
    for (const setup of setups) {
      const gu = median(setup.runs.map((r) => r.us));
      const gr = median(setup.runs.map((r) => r.rps));
      process.stdout.write(`  threads of ${setup.name}: ${threadCpu(setup.pid)}\n`);
      process.stdout.write(`median ${setup.name}: ${Math.round(gr)} req/s ${gu.toFixed(1)} µs; vs core req/s ${(gr / cr).toFixed(2)}×, CPU ${(gu / cu).toFixed(2)}×\n`);
    }
  } finally {
    await Promise.all(children.map(stop));
    await Promise.all([sim.stop(), redis.destroy(), slapd.destroy()]);
    if (process.env.BENCH_KEEP_LOGS) process.stderr.write(`logs kept in ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`quick benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
