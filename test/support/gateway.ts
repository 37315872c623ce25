import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GROUP_BASE, SERVICE_DN, SERVICE_PASSWORD, USER_BASE } from './directory-data.js';
import { freePort } from './ports.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
/** The compiled binary (`npm run build`; `npm test` builds first), as the Docker image runs it. */
export const DIST_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export const SESSION_SECRET = 'test-session-secret-0123456789abcdef';

/** How the gateway's process is started: the command and arguments before the CLI's own. */
export interface Launch {
  command: string;
  args: string[];
  cwd: string;
}

/** The sources through tsx: what most tests run. */
export const SOURCE_LAUNCH: Launch = { command: process.execPath, args: ['--import', 'tsx', MAIN], cwd: REPO_ROOT };
/** The compiled binary (`npm run build`; `npm test` builds first). */
export const COMPILED_LAUNCH: Launch = { command: process.execPath, args: [DIST_MAIN], cwd: REPO_ROOT };

/** Runs the gateway's CLI; by default from the sources with the test's Node and tsx. */
export function runCli(args: string[], env: Record<string, string>, launch: Launch = SOURCE_LAUNCH): ChildProcess {
  if (launch === COMPILED_LAUNCH && !existsSync(DIST_MAIN)) throw new Error(`${DIST_MAIN} is missing: run npm run build first`);
  return spawn(launch.command, [...launch.args, ...args], {
    cwd: launch.cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs a CLI command to its end and collects what it printed. */
export function runCliToEnd(args: string[], env: Record<string, string>, launch: Launch = SOURCE_LAUNCH): Promise<{ code: number | null; stdout: string; stderr: string }> {
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

/** A gateway child process; its log lines are kept for assertions. */
export class GatewayProcess {
  private child?: ChildProcess;
  readonly logs: string[] = [];
  port = 0;

  constructor(
    readonly env: Record<string, string>,
    private readonly echo = false,
    private readonly launch: Launch = SOURCE_LAUNCH,
  ) {
    this.port = Number(env.GATEWAY_PORT);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  async start(): Promise<void> {
    const child = runCli(['serve'], this.env, this.launch);
    this.child = child;
    let buffered = '';
    const collect = (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      this.logs.push(...lines);
      if (this.echo) for (const line of lines) process.stdout.write(`${line}\n`);
    };
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

  /** Peak resident memory (VmHWM) of the gateway process, in bytes. */
  peakRss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return Number(kb) * 1024;
  }

  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
  }

  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    return new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
  }
}

export { freePort };
