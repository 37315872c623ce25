/**
 * `npm run demo`: the whole gateway on one machine without Docker — a private
 * slapd with demo people and groups, a private redis-server, a Paperless (the
 * Django upstream with Paperless's own auth stack when Python 3 can make its
 * virtualenv, else the simulator; DEMO_UPSTREAM=simulator|django chooses) and the
 * gateway itself. Ctrl-C stops everything.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayProcess, baseEnv } from './support/gateway.js';
import { mappingFile } from './support/mapping.js';
import { GROUP_BASE, USERS } from './support/directory-data.js';
import { djangoVenv } from './support/django-upstream.js';
import { RedisServer } from './support/redis.js';
import { Slapd } from './support/slapd.js';
import { createUpstream } from './support/stack.js';
import type { UpstreamKind } from './support/upstream.js';

function chooseUpstream(): UpstreamKind {
  const wanted = process.env.DEMO_UPSTREAM;
  if (wanted === 'simulator' || wanted === 'django') return wanted;
  try {
    process.stdout.write('Preparing the Django upstream (Paperless\'s own auth stack; the first time pip installs it)...\n');
    djangoVenv();
    return 'django';
  } catch (err) {
    process.stdout.write(`Django upstream unavailable, using the simulator: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    return 'simulator';
  }
}

const port = Number(process.env.GATEWAY_PORT ?? 8080);
const slapd = new Slapd();
const redis = new RedisServer();
const kind = chooseUpstream();
// API header mode on, as README recommends: app sign-in and Basic work in the demo too.
const upstream = createUpstream(kind, { enableRemoteUserApi: true, paperlessUrl: `http://127.0.0.1:${port}` });

await Promise.all([slapd.start().then(() => slapd.seed()), redis.start(), upstream.start()]);
await upstream.addUser({ username: 'gateway-admin', is_superuser: true, is_staff: true });
const paperlessToken = await upstream.tokenFor('gateway-admin');
const env = {
  ...baseEnv({ ldapUrl: slapd.url, redisUrl: redis.url, upstreamUrl: upstream.url, port, paperlessToken }),
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
  await Promise.all([upstream.destroy(), redis.destroy(), slapd.destroy()]);
  process.exit(1);
}

process.stdout.write(`
paperless-ldap-gateway demo is running

  Open:        ${gateway.url}/
  Sign in as:  ${USERS.map((u) => `${u.uid} / ${u.password}`).join('   ')}
  LDAP:        ${slapd.url} (base dc=example,dc=com)
  Redis:       ${redis.url}
  Paperless:   ${kind === 'django' ? 'the Django upstream (Paperless 2.20\'s Django, DRF, Channels, allauth under granian)' : 'the simulator'} at ${upstream.url}
               (in production reachable through nothing but the gateway). Its page shows who
               Paperless thinks you are: your groups, permissions and superuser flag.

  Plan a sync: (set -a; . ${envFile}; npx tsx src/main.ts sync --dry-run)

Press Ctrl-C to stop.
`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await gateway.stop();
  await Promise.all([upstream.destroy(), redis.destroy(), slapd.destroy()]);
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
