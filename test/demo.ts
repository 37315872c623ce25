/**
 * `npm run demo`: the whole gateway on one machine without Docker — a private
 * slapd with demo people and groups, a private redis-server, the Paperless
 * simulator and the gateway itself. Ctrl-C stops everything.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayProcess, baseEnv } from './support/gateway.js';
import { mappingFile } from './support/mapping.js';
import { GROUP_BASE, USERS } from './support/directory-data.js';
import { PaperlessSim } from './support/paperless-sim.js';
import { RedisServer } from './support/redis.js';
import { Slapd } from './support/slapd.js';

const port = Number(process.env.GATEWAY_PORT ?? 8080);
const slapd = new Slapd();
const redis = new RedisServer();
const sim = new PaperlessSim();

await Promise.all([slapd.start().then(() => slapd.seed()), redis.start(), sim.start()]);
sim.addUser({ username: 'gateway-admin', is_superuser: true, is_staff: true });
const paperlessToken = sim.tokenFor('gateway-admin');
const env = {
  ...baseEnv({ ldapUrl: slapd.url, redisUrl: redis.url, upstreamUrl: sim.url, port, paperlessToken }),
  GATEWAY_LDAP_GROUP_BASE: GROUP_BASE,
  GATEWAY_PROVISIONING_FILE: mappingFile(),
  GATEWAY_LOG_LEVEL: 'info',
};
// The same settings for the CLI: `sync --dry-run` against the demo.
const envFile = join(slapd.dir, 'demo.env');
writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}='${v.replace(/'/g, "'\\''")}'`).join('\n') + '\n');
const gateway = new GatewayProcess(env, true);
try {
  await gateway.start();
} catch (err) {
  process.stderr.write(`${String(err)}\n`);
  await Promise.all([sim.stop(), redis.destroy(), slapd.destroy()]);
  process.exit(1);
}

process.stdout.write(`
paperless-ldap-gateway demo is running

  Open:        ${gateway.url}/
  Sign in as:  ${USERS.map((u) => `${u.uid} / ${u.password}`).join('   ')}
  LDAP:        ${slapd.url} (base dc=example,dc=com)
  Redis:       ${redis.url}
  Paperless:   simulator at ${sim.url} (not reachable through anything but the gateway in production)

  Plan a sync: (set -a; . ${envFile}; npx tsx src/main.ts sync --dry-run)

Press Ctrl-C to stop.
`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await gateway.stop();
  await Promise.all([sim.stop(), redis.destroy(), slapd.destroy()]);
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
