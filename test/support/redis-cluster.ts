import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { pollUntil } from './poll.js';
import { RedisServer } from './redis.js';

/** Three private masters joined into a Redis Cluster with redis-cli. */
export class RedisClusterSet {
  readonly nodes = [0, 1, 2].map(() => new RedisServer(false, ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000']));

  get url(): string {
    return `redis+cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  async start(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.start()));
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...this.nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const probe = new Redis(this.nodes[0]?.url ?? '');
    try {
      await pollUntil(async () => String(await probe.cluster('INFO')).includes('cluster_state:ok'), 'the cluster never became ok');
    } finally {
      probe.disconnect();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}
