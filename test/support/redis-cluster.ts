import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { pollUntil } from './poll.js';
import { freePort } from './ports.js';
import { RedisServer } from './redis.js';

/** Three private masters joined into a Redis Cluster with redis-cli. */
export class RedisClusterSet {
  nodes: RedisServer[] = [];

  get url(): string {
    return `redis+cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  async start(): Promise<void> {
    // Each node's cluster bus on a free port of its own: by default Redis puts it 10,000 above the
    // node's port, and a node given a free port above 55535 exits at start (seen as a flaky
    // "Connection refused" from redis-cli), or meets another process on the bus port.
    const busPorts = await Promise.all([0, 1, 2].map(() => freePort()));
    this.nodes = busPorts.map((bus) => new RedisServer(false, ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000', '--cluster-port', String(bus)]));
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
