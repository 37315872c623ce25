import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { baseEnv, DIST_MAIN, REPO_ROOT } from '../support/gateway.js';
import { waitForPort } from '../support/ports.js';
import { stopChild } from '../support/process.js';

const HERE = fileURLToPath(new URL('./', import.meta.url));

/** A helper script of the benchmark as its own Node process (so it does not share the benchmark's CPU time). */
export async function startScript(script: string, args: string[], port: number, nodeArgs: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', `${HERE}${script}`, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  await waitForPort(port);
  return child;
}

/** What a benchmarked gateway talks to. */
export interface GatewayParts {
  ldapUrl: string;
  redisUrl: string;
  upstreamUrl: string;
  /** The Paperless simulator, for provisioning at sign-in. */
  paperlessApiUrl: string;
  paperlessToken: string;
}

/** A benchmarked gateway's settings: the test defaults, provisioning against the simulator, BENCH_GATEWAY_ENV on top. */
export function gatewayEnv(parts: GatewayParts, port: number, workers: string): Record<string, string> {
  return {
    ...baseEnv({ ldapUrl: parts.ldapUrl, redisUrl: parts.redisUrl, upstreamUrl: parts.upstreamUrl, port, paperlessToken: parts.paperlessToken }),
    GATEWAY_PAPERLESS_API_URL: parts.paperlessApiUrl,
    GATEWAY_WORKERS: workers,
    // Every load comes from one address here; the per-client bound is for real clients.
    GATEWAY_UPSTREAM_MAX_PER_CLIENT: '10000',
    // BENCH_GATEWAY_ENV='{"GATEWAY_LOG_REQUESTS":"false"}': what a setting costs.
    ...(JSON.parse(process.env.BENCH_GATEWAY_ENV ?? '{}') as Record<string, string>),
  };
}

/** The built gateway (dist/, as the image runs it), its log written to a file rather than read by the benchmark. */
export async function startGateway(env: Record<string, string>, logFile: string, nodeArgs: string[] = [], main = DIST_MAIN): Promise<ChildProcess> {
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeArgs, main, 'serve'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', out, out] });
  await waitForPort(Number(env.GATEWAY_PORT), '127.0.0.1', 20_000);
  return child;
}

export function stop(child: ChildProcess | undefined): Promise<void> {
  return stopChild(child, 'SIGTERM');
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Resident memory of a process and all its descendants (a gateway with workers is several processes). */
export function treeMemory(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  return status(pid, field) + children(pid).reduce((sum, child) => sum + treeMemory(child, field), 0);
}

/** Resets the peak resident memory (VmHWM) of a process and its descendants, so a later peak belongs to what ran since. */
export function resetPeakMemory(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    throw new Error(`cannot reset the peak memory of process ${pid} (/proc/${pid}/clear_refs): the transfer measurement needs it`);
  }
  for (const child of children(pid)) resetPeakMemory(child);
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
export const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function cpuMsOf(pid: number): number {
  try {
    // Fields 14 and 15 (utime, stime) counted after the command name, which may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
  } catch {
    return 0;
  }
}

/** CPU time (user + system, ms) used so far by processes and all their descendants: every process on one path. */
export function treeCpuMs(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + cpuMsOf(pid) + treeCpuMs(children(pid)), 0);
}
