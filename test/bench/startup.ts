/**
 * Start-up and idle memory of the built gateway (dist/, as the image runs it): `--help`'s wall time,
 * the time from spawning `serve` to its 'gateway listening' line, and its resident memory at rest.
 * Part of `npm run bench` (run.ts), and on its own `npm run bench:startup`, which starts its own
 * slapd, redis-server, Paperless simulator and upstream and prints the figures and the targets.
 * Every process runs on the Node that runs this script (`npx -y node@24 --import tsx ...`: Node 24).
 * BENCH_MAIN=/elsewhere/dist/main.js measures another build (one beside its own node_modules);
 * BENCH_NODE_ARGS='--max-semi-space-size=8' starts `serve` with those node options.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DIST_MAIN, freePort, REPO_ROOT } from '../support/gateway.js';
import { PaperlessSim } from '../support/paperless-sim.js';
import { RedisServer } from '../support/redis.js';
import { Slapd } from '../support/slapd.js';
import { gatewayEnv, startScript, stop, treeCpuMs, treeMemory, type GatewayParts } from './processes.js';
import { startupTargets, type StartupResult } from './report.js';

const MIB = 1024 * 1024;
const MAIN = process.env.BENCH_MAIN ?? DIST_MAIN;
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (middle === undefined) throw new Error('no samples to take a median of');
  return middle;
}

/** `--help` from spawn to exit; its output is checked, so a failing command is no fast figure. */
function timeHelp(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [MAIN, '--help'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const elapsed = performance.now() - started;
      if (code !== 0 || !output.includes('serve')) reject(new Error(`--help exited with ${code}: ${output.slice(0, 300)}`));
      else resolve(elapsed);
    });
  });
}

/**
 * One `serve` from spawn to its 'gateway listening' line, then `idleSeconds` at rest; its log is
 * read from a pipe (the line's arrival is the figure) and copied to `logFile`.
 */
async function timeReady(env: Record<string, string>, logFile: string, idleSeconds: number): Promise<{ readyMs: number; readyCpuMs: number; idleRss: number }> {
  const log = createWriteStream(logFile, { flags: 'a' });
  const started = performance.now();
  const child = spawn(process.execPath, [...NODE_ARGS, MAIN, 'serve'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(log);
  try {
    let readyCpuMs = 0;
    const readyMs = await new Promise<number>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`the gateway did not log 'gateway listening' within 30 s (log: ${logFile})`)), 30_000);
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        // Read on to the end, so a full pipe never holds the gateway up.
        log.write(`${line}\n`);
        if (line.includes('gateway listening')) {
          clearTimeout(deadline);
          readyCpuMs = treeCpuMs([child.pid ?? 0]);
          resolve(performance.now() - started);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(deadline);
        reject(new Error(`the gateway exited with ${code} before it was ready (log: ${logFile})`));
      });
    });
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    if (child.exitCode !== null) throw new Error(`the gateway exited while idle (log: ${logFile})`);
    return { readyMs, readyCpuMs, idleRss: treeMemory(child.pid ?? 0) };
  } finally {
    await stop(child);
    log.end();
  }
}

/** `--help`, then `serve` `runs` times (one at a time, nothing else running), against the given parts. */
export async function measureStartup(parts: GatewayParts, options: { runs: number; idleSeconds: number; work: string; say: (line: string) => void }): Promise<StartupResult> {
  const { runs, idleSeconds, work, say } = options;
  const helpSamplesMs: number[] = [];
  for (let i = 0; i < runs; i++) helpSamplesMs.push(await timeHelp());
  say(`  --help: ${helpSamplesMs.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  const readySamplesMs: number[] = [];
  const readyCpuSamplesMs: number[] = [];
  const idleRssSamplesMiB: number[] = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const { readyMs, readyCpuMs, idleRss } = await timeReady(gatewayEnv(parts, port, '1'), join(work, `startup-${i}.log`), idleSeconds);
    readySamplesMs.push(readyMs);
    readyCpuSamplesMs.push(readyCpuMs);
    idleRssSamplesMiB.push(idleRss / MIB);
    say(`  serve: ready after ${readyMs.toFixed(0)} ms (${readyCpuMs.toFixed(0)} ms CPU), ${(idleRss / MIB).toFixed(1)} MiB RSS ${idleSeconds} s later`);
  }
  return {
    runs,
    helpMs: median(helpSamplesMs),
    helpSamplesMs,
    readyMs: median(readySamplesMs),
    readySamplesMs,
    readyCpuMs: median(readyCpuSamplesMs),
    idleRssMiB: median(idleRssSamplesMiB),
    idleRssSamplesMiB,
    idleSeconds,
  };
}

async function main(): Promise<void> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const runs = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
  const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
  const work = mkdtempSync(join(tmpdir(), 'gw-startup-'));
  const slapd = new Slapd();
  const redis = new RedisServer();
  const sim = new PaperlessSim();
  let upstream: ChildProcess | undefined;
  try {
    say(`starting slapd, redis-server, the Paperless simulator and the upstream; then the gateway on Node ${process.version}`);
    await Promise.all([slapd.start().then(() => slapd.seed()), redis.start(), sim.start()]);
    const upstreamPort = await freePort();
    upstream = await startScript('upstream.ts', [String(upstreamPort)], upstreamPort);
    const token = sim.tokenFor(sim.addUser({ username: 'gateway-admin', is_superuser: true, is_staff: true }).username);
    const parts = { ldapUrl: slapd.url, redisUrl: redis.url, upstreamUrl: `http://127.0.0.1:${upstreamPort}`, paperlessApiUrl: sim.url, paperlessToken: token };
    const result = await measureStartup(parts, { runs, idleSeconds, work, say });
    const targets = startupTargets(result);
    process.stdout.write(['', `Node ${process.version}, medians of ${runs}; CPU time to ready (both threads) ${(result.readyCpuMs / 1000).toFixed(2)} s:`, '', '| target | measured | met |', '|---|---|---|', ...targets.map((t) => `| ${t.name} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`), ''].join('\n'));
  } finally {
    await stop(upstream);
    await Promise.all([sim.stop(), redis.destroy(), slapd.destroy()]);
    if (process.env.BENCH_KEEP_LOGS) say(`gateway logs kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`startup benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
