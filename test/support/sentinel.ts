import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pollUntil } from './poll.js';
import { freePort, waitForPort } from './ports.js';
import { stopChild } from './process.js';
import { RedisServer } from './redis.js';

/** A master, a replica and one Sentinel watching them (quorum 1, fast failover), all private. */
export class SentinelSet {
  readonly master = new RedisServer();
  replica?: RedisServer;
  private sentinel?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'gw-sentinel-'));
  port = 0;
  readonly name = 'gatewaymaster';

  get url(): string {
    return `redis+sentinel://127.0.0.1:${this.port}/${this.name}/0`;
  }

  async start(): Promise<void> {
    await this.master.start();
    this.replica = new RedisServer(false, ['--replicaof', '127.0.0.1', String(this.master.port)]);
    await this.replica.start();
    await this.waitInSync();
    this.port = await freePort();
    const conf = join(this.dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${this.port}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `sentinel monitor ${this.name} 127.0.0.1 ${this.master.port} 1`,
        `sentinel down-after-milliseconds ${this.name} 1000`,
        `sentinel failover-timeout ${this.name} 3000`,
        `sentinel parallel-syncs ${this.name} 1`,
      ].join('\n') + '\n',
    );
    this.sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    await waitForPort(this.port);
  }

  /** Until the replica has finished its first sync with the master. */
  private async waitInSync(): Promise<void> {
    const client = new Redis(this.replica?.url ?? '');
    try {
      await pollUntil(async () => (await client.info('replication')).includes('master_link_status:up'), 'the replica never synced with the master');
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    await stopChild(this.sentinel, 'SIGTERM');
    await Promise.all([this.master.destroy(), this.replica?.destroy()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
