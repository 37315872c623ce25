/**
 * `npm run bench`: the gateway against direct, nginx, the forward-auth floor
 * and the bare cores (http-proxy-3, node:http, undici), all measured in one run on this machine, every
 * result relative to the others. Writes test/bench/results.json and results.md.
 */
import { cpus, totalmem, availableParallelism, release } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { directoryLdif, USERS, type DemoUser } from '../support/directory-data.js';
import { freePort } from '../support/gateway.js';
import { Browser } from '../support/http-client.js';
import { PaperlessSim } from '../support/paperless-sim.js';
import { RedisServer } from '../support/redis.js';
import { Slapd } from '../support/slapd.js';
import { Nginx } from './nginx.js';
import { gatewayEnv, resetPeakMemory, startGateway, startScript, stop, treeCpuMs, treeMemory } from './processes.js';
import { soak } from './soak.js';
import { measureStartup } from './startup.js';
import { download, upload } from './transfers.js';
import { openMany, receivedBy } from './websockets.js';
import { wrk, type LoadResult } from './wrk.js';
import { evaluate, markdown, type Results } from './report.js';

const HERE = fileURLToPath(new URL('./', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const CONNECTIONS = 50;
/** Runs behind each of the figures the targets compare (bare core, gateway fresh, again, rested). */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const GIB = Number(process.env.BENCH_TRANSFER_BYTES ?? 1024 ** 3);
const WEBSOCKETS = Number(process.env.BENCH_WEBSOCKETS ?? 5000);
const LOGIN_SECONDS = Number(process.env.BENCH_LOGIN_SECONDS ?? 5);
/** Sign-ins at once during "logins per second", and the people in the directory who make them (at least as many). */
const LOGIN_CONCURRENCY = 16;
const LOGIN_PEOPLE = Number(process.env.BENCH_LOGIN_PEOPLE ?? 64);
/** The soak's length: 10 minutes unless BENCH_SOAK_SECONDS says otherwise (0 skips it). */
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
const MIB = 1024 * 1024;
/** Start-up: how many `--help`s and `serve`s each median is taken over, and how long each `serve` rests before its RSS is read. */
const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
/** BENCH_PROFILE=<dir>: the 1-worker gateway runs with --cpu-prof, its profile written there (open it in Chrome DevTools). */
const PROFILE_DIR = process.env.BENCH_PROFILE;
/** BENCH_NODE_ARGS='--max-semi-space-size=16': node options for every gateway this run starts (start-up included), to weigh one. */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * One setup under load. `pids`: every process on that setup's path besides the shared upstream
 * (the gateway; nginx and the auth server; a bare core), whose CPU time per answer is the figure
 * that holds on a noisy machine.
 */
async function measure(name: string, url: string, pids: number[], headers: Record<string, string> = {}): Promise<LoadResult> {
  await wrk(url, { seconds: WARMUP, connections: CONNECTIONS, headers });
  const cpuBefore = treeCpuMs(pids);
  const result = await wrk(url, { seconds: SECONDS, connections: CONNECTIONS, headers });
  if (result.errors > 0) throw new Error(`${name}: ${result.errors} failed requests during the run; not a valid measurement`);
  if (pids.length > 0 && result.requests > 0) result.cpuUsPerRequest = ((treeCpuMs(pids) - cpuBefore) * 1000) / result.requests;
  const cpu = result.cpuUsPerRequest === undefined ? '' : `  CPU ${result.cpuUsPerRequest.toFixed(1)} µs/req`;
  say(`  ${name.padEnd(28)} ${Math.round(result.requestsPerSecond)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms${cpu}`);
  return result;
}

/** The run with the median CPU per request (its req/s and latencies come with it). */
function medianRun(runs: LoadResult[]): LoadResult {
  const sorted = [...runs].sort((a, b) => (a.cpuUsPerRequest ?? 0) - (b.cpuUsPerRequest ?? 0));
  const median = sorted[Math.floor(sorted.length / 2)];
  if (!median) throw new Error('no runs to take a median of');
  say(`  median of ${runs.length}: ${Math.round(median.requestsPerSecond)} req/s, CPU ${(median.cpuUsPerRequest ?? 0).toFixed(1)} µs/req`);
  return median;
}

async function measureMedian(name: string, url: string, pids: number[], headers: Record<string, string> = {}): Promise<LoadResult> {
  const runs: LoadResult[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await measure(name, url, pids, headers));
  return medianRun(runs);
}

/** Signs in like a person would and returns the session's Cookie header. */
async function signIn(url: string, username = 'alice', password = 'alice-pass'): Promise<string> {
  const browser = new Browser(url);
  const reply = await browser.login(username, password);
  if (reply.status !== 303 && reply.status !== 302) throw new Error(`sign-in failed with ${reply.status}: ${reply.body.slice(0, 300)}`);
  return browser.cookieHeader();
}

/** The office that signs in: `count` people beside the test directory's, each in paperless-users as bob is. */
function officePeople(count: number): DemoUser[] {
  return Array.from({ length: count }, (_, i) => {
    const uid = `person${String(i + 1).padStart(3, '0')}`;
    return { uid, password: `${uid}-pass`, givenName: 'Person', sn: String(i + 1), mail: `${uid}@example.com`, groups: ['paperless-users'] };
  });
}

/**
 * Logins per second as an office makes them: `concurrency` sign-ins at once, each by a different
 * person. Regulation counts a sign-in in flight as a possible failure of its user from its address
 * (GATEWAY_REGULATION_MAX_FAILURES_USER_IP, 4 by default), so one user signing in eight times at
 * once from one address is refused as a guesser would be; here client i signs in people i,
 * i + concurrency, ... in turn, and no person ever has two sign-ins in flight. Every person signs in
 * once first, untimed: a first sign-in provisions its user in Paperless, which this figure is not about.
 */
async function loginRate(url: string, seconds: number, people: DemoUser[], concurrency: number): Promise<number> {
  if (people.length < concurrency) throw new Error(`logins per second needs at least ${concurrency} people (BENCH_LOGIN_PEOPLE), not ${people.length}`);
  const clients = Array.from({ length: concurrency }, (_, i) => people.filter((_, j) => j % concurrency === i));
  await Promise.all(clients.map(async (mine) => {
    for (const person of mine) await signIn(url, person.uid, person.password);
  }));
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (mine) => {
      for (let turn = 0; performance.now() < deadline; turn++) {
        const person = mine[turn % mine.length] as DemoUser;
        await signIn(url, person.uid, person.password);
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'gw-bench-'));
  const slapd = new Slapd();
  const redis = new RedisServer();
  const sim = new PaperlessSim();
  const office = officePeople(LOGIN_PEOPLE);
  const children: ChildProcess[] = [];
  let nginx: Nginx | undefined;
  try {
    say('starting slapd, redis-server, the Paperless simulator (provisioning API), the fixed upstream, nginx, the bare cores');
    await Promise.all([slapd.start().then(() => slapd.seed(directoryLdif([...USERS, ...office]))), redis.start(), sim.start()]);
    const [upstreamPort, authPort, barePort, undiciPort, nodeHttpPort, plainPort, forwardAuthPort, guidePort, gatewayPort, workersPort] = await Promise.all(Array.from({ length: 10 }, () => freePort()));
    const upstream = await startScript('upstream.ts', [String(upstreamPort)], upstreamPort as number);
    children.push(upstream);
    const authServer = await startScript('upstream.ts', [String(authPort)], authPort as number);
    children.push(authServer);
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
    const bareProxy = await startScript('bare-proxy.ts', [upstreamUrl, String(barePort)], barePort as number);
    const bareUndici = await startScript('bare-undici.ts', [upstreamUrl, String(undiciPort)], undiciPort as number);
    const bareNodeHttp = await startScript('bare-node-http.ts', [upstreamUrl, String(nodeHttpPort)], nodeHttpPort as number);
    children.push(bareProxy, bareUndici, bareNodeHttp);
    nginx = new Nginx({ plain: plainPort as number, forwardAuth: forwardAuthPort as number, forwardAuthGuide: guidePort as number, upstream: upstreamPort as number, auth: authPort as number });
    await nginx.start();

    const token = sim.tokenFor(sim.addUser({ username: 'gateway-admin', is_superuser: true, is_staff: true }).username);
    const parts = { ldapUrl: slapd.url, redisUrl: redis.url, upstreamUrl, paperlessApiUrl: sim.url, paperlessToken: token };
    // First, while nothing has loaded the machine yet.
    say(`start-up: --help ${STARTUP_RUNS} times, then serve (1 worker) ${STARTUP_RUNS} times, each ${IDLE_SECONDS} s at rest`);
    const startup = await measureStartup(parts, { runs: STARTUP_RUNS, idleSeconds: IDLE_SECONDS, work, say });
    say('starting the gateway (1 worker)');
    const gateway = await startGateway(gatewayEnv(parts, gatewayPort as number, '1'), join(work, 'gateway.log'), [...NODE_ARGS, ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [])]);
    children.push(gateway);
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const cookie = await signIn(gatewayUrl);
    const session = { Cookie: cookie, Origin: gatewayUrl };
    const pid = gateway.pid ?? 0;

    // Throughput first, each setup on freshly started processes; the gateway is measured once more
    // after the heavy scenarios below, to show whether they leave it slower.
    say(`throughput: wrk -t1 -c${CONNECTIONS}, ${WARMUP} s warm-up then ${SECONDS} s, 1 KB JSON`);
    const path = '/api/documents/';
    const pidOf = (child: ChildProcess) => child.pid ?? 0;
    const nginxPath = [nginx.pid, pidOf(authServer)];
    // Every setup gets the same request, the signed-in browser's: its Cookie header is parsed and
    // passed on by each (and read by the auth server behind nginx), not by the gateway alone.
    const browser = { Cookie: cookie };
    const direct = await measure('direct', `${upstreamUrl}${path}`, [], browser);
    const plain = await measure('nginx proxy_pass', `http://127.0.0.1:${plainPort}${path}`, [nginx.pid], browser);
    const floor = await measure('forward-auth, as guides', `http://127.0.0.1:${guidePort}${path}`, nginxPath, browser);
    const floorKeepAlive = await measure('forward-auth, keep-alive', `http://127.0.0.1:${forwardAuthPort}${path}`, nginxPath, browser);
    const bare = await measure('bare http-proxy-3', `http://127.0.0.1:${barePort}${path}`, [pidOf(bareProxy)], browser);
    const nodeHttp = await measure('bare node:http core', `http://127.0.0.1:${nodeHttpPort}${path}`, [pidOf(bareNodeHttp)], browser);
    // The two figures the targets compare, in alternating runs: on a shared VM one run of the same
    // core moved by a fifth from the next, so each is the median of RUNS runs taken side by side.
    const inTurn = async (suffix: string): Promise<[LoadResult, LoadResult]> => {
      const coreRuns: LoadResult[] = [];
      const gatewayRuns: LoadResult[] = [];
      for (let i = 0; i < RUNS; i++) {
        coreRuns.push(await measure(`bare undici core${suffix}`, `http://127.0.0.1:${undiciPort}${path}`, [pidOf(bareUndici)], browser));
        gatewayRuns.push(await measure(`gateway, 1 worker${suffix}`, `${gatewayUrl}${path}`, [pid], browser));
      }
      return [medianRun(coreRuns), medianRun(gatewayRuns)];
    };
    const [bareCore, gateway1] = await inTurn('');

    say(`1 GiB transfers (${GIB} bytes)`);
    // The gateway against the bare core, RUNS times each way and in turn (one transfer of either
    // moved by a fifth from the next on a shared VM); each ratio is the median of the pairs.
    const coreUrl = `http://127.0.0.1:${undiciPort}`;
    const corePid = pidOf(bareUndici);
    const rssBefore = treeMemory(pid);
    const coreRssBefore = treeMemory(corePid);
    resetPeakMemory(pid);
    resetPeakMemory(corePid);
    const pairs: { upload: [number, number]; download: [number, number] }[] = [];
    for (let i = 0; i < RUNS; i++) {
      const uploads: [number, number] = [await upload(`${gatewayUrl}/bench/upload`, GIB, session), await upload(`${coreUrl}/bench/upload`, GIB)];
      const downloads: [number, number] = [await download(`${gatewayUrl}/bench/big?bytes=${GIB}`, GIB, session), await download(`${coreUrl}/bench/big?bytes=${GIB}`, GIB)];
      pairs.push({ upload: uploads, download: downloads });
    }
    const transferGrowth = treeMemory(pid, 'VmHWM') - rssBefore;
    // The bare core's own growth over the same transfers: what a Node proxy with nothing on top shows.
    const coreGrowth = treeMemory(corePid, 'VmHWM') - coreRssBefore;
    const middle = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const uploadGateway = middle(pairs.map((p) => p.upload[0]));
    const downloadGateway = middle(pairs.map((p) => p.download[0]));
    // Direct, and through bare http-proxy-3 (what any Node proxy manages here): once each, for scale.
    const uploadDirect = await upload(`${upstreamUrl}/bench/upload`, GIB);
    const downloadDirect = await download(`${upstreamUrl}/bench/big?bytes=${GIB}`, GIB);
    const bareUrl = `http://127.0.0.1:${barePort}`;
    const uploadBare = await upload(`${bareUrl}/bench/upload`, GIB);
    const downloadBare = await download(`${bareUrl}/bench/big?bytes=${GIB}`, GIB);
    say(`  upload ${(GIB / MIB / uploadGateway).toFixed(0)} MiB/s (direct ${(GIB / MIB / uploadDirect).toFixed(0)}), download ${(GIB / MIB / downloadGateway).toFixed(0)} MiB/s (direct ${(GIB / MIB / downloadDirect).toFixed(0)}), peak RSS growth ${(transferGrowth / MIB).toFixed(1)} MiB (bare core ${(coreGrowth / MIB).toFixed(1)} MiB)`);
    say(`  against the bare core, pair by pair: upload ${pairs.map((p) => (p.upload[1] / p.upload[0]).toFixed(2)).join(', ')}; download ${pairs.map((p) => (p.download[1] / p.download[0]).toFixed(2)).join(', ')}`);

    say(`${WEBSOCKETS} authenticated websockets`);
    const wsRssBefore = treeMemory(pid);
    const sockets = await openMany(`ws://127.0.0.1:${gatewayPort}/ws/status/`, WEBSOCKETS, session);
    const wsRssAfter = treeMemory(pid);
    const message = `broadcast-${Date.now()}`;
    const delivery = receivedBy(sockets, message, 30_000);
    upstream.stdin?.write(`${message}\n`);
    const delivered = await delivery.done;
    for (const ws of sockets) ws.terminate();
    say(`  RSS growth ${((wsRssAfter - wsRssBefore) / MIB).toFixed(1)} MiB, broadcast received by ${delivered} of ${sockets.length}`);

    say(`logins per second: ${LOGIN_CONCURRENCY} at once, by ${office.length} people`);
    const logins = await loginRate(gatewayUrl, LOGIN_SECONDS, office, LOGIN_CONCURRENCY);
    say(`  ${logins.toFixed(0)} logins/s`);
    // The bare core again, in turn with the gateway as before: on a shared VM the machine itself
    // moves between the fresh runs and these, and only the core beside them tells by how much.
    const [bareCoreAgain, gatewayAfter] = await inTurn(', again');
    // Whether the drop lasts: the same after half a minute of rest (a collector catching up recovers, a leak does not).
    await new Promise((r) => setTimeout(r, 30_000));
    const gatewayRested = await measureMedian('gateway, 1 worker, rested', `${gatewayUrl}${path}`, [pid], browser);

    const soaked = SOAK_SECONDS > 0
      ? (say(`soak: ${SOAK_SECONDS} s at 70 % of ${Math.round(gateway1.requestsPerSecond)} req/s, with uploads, websockets and sign-ins beside`),
        await soak({ url: gatewayUrl, cookie, pid, maxRps: gateway1.requestsPerSecond, seconds: SOAK_SECONDS, connections: CONNECTIONS, work, signIn, say }))
      : undefined;

    await stop(gateway);
    if (PROFILE_DIR) say(`CPU profile of the 1-worker gateway written to ${PROFILE_DIR}`);
    const workers = String(availableParallelism());
    say(`starting the gateway (${workers} workers)`);
    const gatewayN = await startGateway(gatewayEnv(parts, workersPort as number, workers), join(work, 'gateway-workers.log'), NODE_ARGS);
    children.push(gatewayN);
    const workersUrl = `http://127.0.0.1:${workersPort}`;
    const gatewayWorkers = await measure(`gateway, ${workers} workers`, `${workersUrl}${path}`, [gatewayN.pid ?? 0], { Cookie: await signIn(workersUrl) });

    const results: Results = {
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 1024 ** 3), kernel: release(), node: process.version },
      date: new Date().toISOString(),
      settings: { seconds: SECONDS, warmup: WARMUP, runs: RUNS, connections: CONNECTIONS, transferBytes: GIB, websockets: WEBSOCKETS },
      throughput: { direct, nginx: plain, forwardAuthFloor: floor, forwardAuthKeepAlive: floorKeepAlive, bareHttpProxy3: bare, bareNodeHttp: nodeHttp, bareUndiciCore: bareCore, gateway: gateway1, bareUndiciCoreAgain: bareCoreAgain, gatewayAfterHeavy: gatewayAfter, gatewayRested, gatewayWorkers: { ...gatewayWorkers, workers: Number(workers) } },
      transfers: {
        uploadRatio: uploadDirect / uploadGateway,
        downloadRatio: downloadDirect / downloadGateway,
        uploadMiBps: GIB / MIB / uploadGateway,
        downloadMiBps: GIB / MIB / downloadGateway,
        peakRssGrowthMiB: transferGrowth / MIB,
        corePeakRssGrowthMiB: coreGrowth / MIB,
        bareUploadRatio: uploadDirect / uploadBare,
        bareDownloadRatio: downloadDirect / downloadBare,
        vsCoreUpload: middle(pairs.map((p) => p.upload[1] / p.upload[0])),
        vsCoreDownload: middle(pairs.map((p) => p.download[1] / p.download[0])),
      },
      ...(soaked ? { soak: soaked } : {}),
      startup,
      websockets: { count: sockets.length, delivered, rssGrowthMiB: (wsRssAfter - wsRssBefore) / MIB },
      loginsPerSecond: logins,
      targets: [],
    };
    results.targets = evaluate(results);
    const table = markdown(results);
    writeFileSync(join(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(HERE, 'results.md'), table);
    process.stdout.write(`\n${table}\n`);
    const missed = results.targets.filter((t) => !t.met);
    process.stdout.write(missed.length ? `${missed.length} target(s) missed: ${missed.map((t) => t.name).join('; ')}\n` : 'every target met\n');
  } finally {
    await Promise.all(children.map(stop));
    await nginx?.destroy();
    await Promise.all([sim.stop(), redis.destroy(), slapd.destroy()]);
    // The gateways' logs (tens of MB) are kept only when asked for.
    if (process.env.BENCH_KEEP_LOGS) say(`gateway logs kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
