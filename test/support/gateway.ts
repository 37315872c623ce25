import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Gateway } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import { GROUP_BASE, SERVICE_DN, SERVICE_PASSWORD, USER_BASE } from './directory-data.js';
import { freePort } from './ports.js';

/**
 * A test file whose tests are all done but whose process stays alive (a thread or socket left
 * behind) would hold `node --test` for ever: Node 24 bounds tests, not files. Ten seconds after its
 * last hook such a file says what is still open and ends, with the exit code its tests gave.
 * Only in a file the test runner started (not in the benchmark, nor in a memory test's child).
 */
if (process.env.NODE_TEST_CONTEXT && process.argv[1]?.endsWith('.test.ts')) {
  after(() => {
    setTimeout(() => {
      process.stderr.write(`LEAK: ${process.argv[1]} was still running 10 s after its last test; still open: ${JSON.stringify(process.getActiveResourcesInfo())}\n`);
      process.exit();
    }, 10_000).unref();
  });
}

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The compiled binary (`npm run build`; `npm test` builds first), as the Docker image runs it. */
export const DIST_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** Past the gateway's own shutdown timeout (GATEWAY_SHUTDOWN_TIMEOUT, 30 s by default), after which it cuts what is left. */
const CLOSE_TIMEOUT_MS = 60_000;

export const SESSION_SECRET = 'test-session-secret-0123456789abcdef';

/** How the gateway's process is started: the command and arguments before the CLI's own. */
export interface Launch {
  command: string;
  args: string[];
  cwd: string;
}

/** The compiled binary (`npm run build`; `npm test` builds first), as the image runs it: what process-level tests start. */
export const COMPILED_LAUNCH: Launch = { command: process.execPath, args: [DIST_MAIN], cwd: REPO_ROOT };
/**
 * The gateway in the test's own process, started as `serve` starts it (serveGateway, from the
 * sources): what most tests run. Signals, workers and memory need a process of its own.
 */
export const IN_PROCESS = 'in-process';
export type GatewayLaunch = Launch | typeof IN_PROCESS;

function newestSource(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newestSource(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
}

/** A stale dist/ would test yesterday's code: refused, with what to run. */
function assertBuilt(): void {
  if (!existsSync(DIST_MAIN)) throw new Error(`${DIST_MAIN} is missing: run npm run build first`);
  if (statSync(DIST_MAIN).mtimeMs < newestSource(join(REPO_ROOT, 'src'))) throw new Error('dist/ is older than src/: run npm run build first');
}

/** Runs the gateway's CLI; by default the compiled binary, as the image runs it. */
export function runCli(args: string[], env: Record<string, string>, launch: Launch = COMPILED_LAUNCH): ChildProcess {
  if (launch === COMPILED_LAUNCH) assertBuilt();
  return spawn(launch.command, [...launch.args, ...args], {
    cwd: launch.cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs a CLI command to its end and collects what it printed. */
export function runCliToEnd(args: string[], env: Record<string, string>, launch: Launch = COMPILED_LAUNCH): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = runCli(args, env, launch);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Settings for a gateway on these servers; without a Paperless token, provisioning is off. */
export function baseEnv(ports: { ldapUrl: string; redisUrl: string; upstreamUrl: string; port: number; paperlessToken?: string }): Record<string, string> {
  return {
    ...(ports.paperlessToken ? { GATEWAY_PAPERLESS_TOKEN: ports.paperlessToken } : { GATEWAY_PROVISIONING: 'off' }),
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(ports.port),
    GATEWAY_PUBLIC_URL: `http://127.0.0.1:${ports.port}`,
    GATEWAY_UPSTREAM_URL: ports.upstreamUrl,
    GATEWAY_UPSTREAM_TIMEOUT: '5s',
    GATEWAY_REDIS_URL: ports.redisUrl,
    GATEWAY_SESSION_SECRET: SESSION_SECRET,
    GATEWAY_LDAP_URL: ports.ldapUrl,
    GATEWAY_LDAP_BIND_DN: SERVICE_DN,
    GATEWAY_LDAP_BIND_PASSWORD: SERVICE_PASSWORD,
    GATEWAY_LDAP_USER_BASE: USER_BASE,
    GATEWAY_LDAP_GROUP_BASE: GROUP_BASE,
    GATEWAY_LDAP_CONNECT_TIMEOUT: '2s',
    GATEWAY_LDAP_TIMEOUT: '5s',
    GATEWAY_LOG_LEVEL: 'info',
  };
}

/** A gateway, in this process or a child process; its log lines are kept for assertions. */
export class GatewayProcess {
  private child?: ChildProcess;
  private inProcess?: Gateway;
  private buffered = '';
  readonly logs: string[] = [];
  port = 0;

  constructor(
    readonly env: Record<string, string>,
    private readonly echo = false,
    private readonly launch: GatewayLaunch = IN_PROCESS,
    /** In-process only: time as the proxying thread's sessions see it. */
    private readonly clock?: Clock,
  ) {
    this.port = Number(env.GATEWAY_PORT);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The child's pid; an in-process gateway has none of its own. */
  get pid(): number {
    if (this.runsInProcess) throw new Error('an in-process gateway has no process of its own: start it with COMPILED_LAUNCH');
    return this.child?.pid ?? 0;
  }

  /** Several workers (GATEWAY_WORKERS) are a cluster of processes: never in-process. */
  private get runsInProcess(): boolean {
    return this.launch === IN_PROCESS && Number(this.env.GATEWAY_WORKERS ?? '1') <= 1;
  }

  private collect(text: string): void {
    this.buffered += text;
    const lines = this.buffered.split('\n');
    this.buffered = lines.pop() ?? '';
    this.logs.push(...lines);
    if (this.echo) for (const line of lines) process.stdout.write(`${line}\n`);
  }

  async start(): Promise<void> {
    if (this.runsInProcess) {
      // As main.ts's serve: the settings checked, then serveGateway; a bad setting rejects with its message.
      // Loaded here, not on import: processes that take only this file's constants (the benchmark's,
      // the memory tests' children) must not carry the whole gateway.
      const [{ serveGateway }, { loadConfig }, { createLogger }] = await Promise.all([import('../../src/app.js'), import('../../src/config/load.js'), import('../../src/ops/logger.js')]);
      const sink = { write: (line: string) => this.collect(line) };
      const config = loadConfig(this.env);
      this.inProcess = await serveGateway(config, createLogger(config.log.level, 1, sink), { environment: this.env, logSink: sink, ...(this.clock ? { clock: this.clock } : {}) });
      return;
    }
    if (this.clock) throw new Error('a clock can be given to an in-process gateway only');
    const child = runCli(['serve'], this.env, this.launch === IN_PROCESS ? COMPILED_LAUNCH : this.launch);
    this.child = child;
    const collect = (d: Buffer) => this.collect(d.toString());
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${this.logs.join('\n')}`)), 15_000);
      const check = setInterval(() => {
        if (this.logs.some((l) => l.includes('gateway listening'))) {
          clearTimeout(timer);
          clearInterval(check);
          resolve();
        }
      }, 20);
      child.once('exit', (code) => {
        clearTimeout(timer);
        clearInterval(check);
        reject(new Error(`gateway exited with ${code}:\n${this.logs.join('\n')}`));
      });
    });
  }

  private status(field: 'VmHWM' | 'VmRSS'): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
  }

  /** Peak resident memory (VmHWM) of the gateway process, in bytes. */
  peakRss(): number {
    return this.status('VmHWM');
  }

  rss(): number {
    return this.status('VmRSS');
  }

  /** Ends the gateway as SIGTERM does (requests in flight finish); the exit code, 0 in-process when the close went well. */
  async stop(): Promise<number | null> {
    const gateway = this.inProcess;
    if (gateway) {
      this.inProcess = undefined;
      const closed = gateway.close().then(() => 0, (err: unknown) => {
        this.logs.push(`error during shutdown: ${String(err)}`);
        return 1;
      });
      // A close that never ends would hold the test file open forever: it fails the hook instead.
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the in-process gateway did not close within ${CLOSE_TIMEOUT_MS / 1000} s; its last log lines:\n${this.logs.slice(-20).join('\n')}`)), CLOSE_TIMEOUT_MS);
      });
      return Promise.race([closed, stuck]).finally(() => clearTimeout(timer));
    }
    const child = this.child;
    // Ended already, by itself or by a signal (exitCode stays null then): no 'exit' is to come.
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    return new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
  }
}

export { freePort };
