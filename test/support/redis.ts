import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitForPort } from './ports.js';
import { stopChild } from './process.js';

/** A private redis-server that tests may kill and restart on the same port (optionally keeping its data). */
export class RedisServer {
  private process?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'gw-redis-'));
  port = 0;

  /** `persist`: append-only file, so data survives a restart; `args`: more redis-server arguments (e.g. --replicaof). */
  constructor(
    private readonly persist = false,
    private readonly args: string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    // A port found free may be taken by another test file's server before ours binds it: ours then
    // exits, and the port answers anyway. So the server that answers must say it is ours (its dir);
    // a fresh port is tried again, a restart's port (kept for the tests) is not.
    for (let attempt = 1; ; attempt++) {
      const fresh = this.port === 0;
      if (fresh) this.port = await freePort();
      const persistence = this.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
      this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir, ...persistence, '--loglevel', 'warning', ...this.args], {
        stdio: 'ignore',
      });
      await waitForPort(this.port);
      const answer = await promisify(execFile)('redis-cli', ['-p', String(this.port), 'CONFIG', 'GET', 'dir'], { timeout: 3000 }).then((r) => r.stdout, () => '');
      if (answer.includes(this.dir) && this.process.exitCode === null) return;
      await this.stop();
      if (!fresh || attempt === 3) throw new Error(`redis-server did not start on 127.0.0.1:${this.port} (${answer ? 'another server answers there' : 'it exited'})`);
      this.port = 0;
    }
  }

  /** SIGKILL: the way a crash or an OOM kill ends Redis. */
  async stop(): Promise<void> {
    await stopChild(this.process, 'SIGKILL');
    this.process = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
