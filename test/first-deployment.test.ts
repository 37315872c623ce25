/**
 * An office's first deployment, as the admin does it (issue 36's "done when"): `init` with the
 * groups and the directory's CA against a directory with its own CA, then the gateway from
 * exactly the .env and mapping init wrote, with only the addresses changed that compose fixes
 * (the upstream, Redis, the port, and the two in-container paths its volumes map). Then an admin
 * is a Paperless superuser and sees every document, a user works in Paperless with the user
 * group's permissions and sees the documents Paperless shows such a member (the ownerless ones
 * and those shared with the group, not a colleague's own), and anyone else is refused. init
 * refuses, writing nothing, where the directory says no.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { SERVICE_ACCOUNT } from '../src/cli/env-file.js';
import { loadMapping } from '../src/config/mapping.js';
import { diskFiles } from '../src/config/files.js';
import { SERVICE_DN, SERVICE_PASSWORD, USER_BASE } from './support/directory-data.js';
import { DjangoUpstream } from './support/django-upstream.js';
import { GatewayProcess, REPO_ROOT, freePort, runCliToEnd } from './support/gateway.js';
import { Browser } from './support/http-client.js';
import { RedisServer } from './support/redis.js';
import { SimUpstream } from './support/sim-upstream.js';
import { Slapd } from './support/slapd.js';
import { createUpstream } from './support/stack.js';
import { upstreamKinds, type Upstream } from './support/upstream.js';

interface ComposeService {
  environment?: Record<string, string>;
  command?: string[];
  ports?: Array<string | { published?: string | number; host_ip?: string; target?: number }>;
  networks?: Record<string, { ipv4_address?: string } | null>;
}

/** The admin's answers; the public URL is where the test's gateway will listen. */
function answers(slapd: Slapd, port: number): Record<string, string> {
  return {
    '--public-url': `http://127.0.0.1:${port}`,
    '--preset': 'openldap',
    '--ldap-url': slapd.ldapsUrl,
    '--ca-file': slapd.caFile,
    '--bind-dn': SERVICE_DN,
    '--bind-password': SERVICE_PASSWORD,
    '--user-base': USER_BASE,
    '--admin-group': 'paperless-admins',
    '--user-group': 'paperless-users',
    '--tls-front': 'none',
  };
}

const init = (output: string, options: Record<string, string>, extra: string[] = []) => runCliToEnd(['init', '--output', output, ...Object.entries(options).flat(), ...extra], {});

/** A .env as compose v1 reads an env_file (python-dotenv, which /usr/bin/docker-compose imports). */
function readDotenv(file: string): Record<string, string> {
  const res = spawnSync('/usr/bin/python3', ['-c', 'import json, sys\nfrom dotenv import dotenv_values\nprint(json.dumps(dotenv_values(sys.argv[1])))', file], { encoding: 'utf8' });
  assert.equal(res.status, 0, `python3-dotenv is installed (docker-compose needs it): ${res.stderr}`);
  return JSON.parse(res.stdout) as Record<string, string>;
}

/** `docker-compose config` with compose.yaml copied beside the written .env, as README sets it up. */
function composeConfig(dir: string, args: string[] = []): { status: number | null; stdout: string; stderr: string } {
  copyFileSync(join(REPO_ROOT, 'compose.yaml'), join(dir, 'compose.yaml'));
  const res = spawnSync('docker-compose', ['--env-file', join(dir, '.env'), '-f', join(dir, 'compose.yaml'), 'config', ...args], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(res.error, undefined, 'docker-compose is installed (npm run setup:debian)');
  return res;
}

/**
 * The services `docker compose up` starts with this .env: the profiles as compose v1's own code
 * reads them (COMPOSE_PROFILES from the env file), and its rule that a service with profiles runs
 * only when one of them is on. (`docker-compose config --services` lists every service.)
 */
function servicesUp(dir: string): string[] {
  copyFileSync(join(REPO_ROOT, 'compose.yaml'), join(dir, 'compose.yaml'));
  const script = [
    'import json, sys',
    'from compose.cli.command import get_profiles_from_options',
    'from compose.config import config',
    'from compose.config.environment import Environment',
    "env = Environment.from_env_file(sys.argv[1], '.env')",
    'profiles = get_profiles_from_options({}, env)',
    "loaded = config.load(config.find(sys.argv[1], ['compose.yaml'], env))",
    "print(json.dumps([s['name'] for s in loaded.services if not s.get('profiles') or any(p in profiles for p in s['profiles'])]))",
  ].join('\n');
  const res = spawnSync('/usr/bin/python3', ['-c', script, dir], { cwd: dir, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout) as string[];
}

/** The ids of the documents /api/documents/ lists to this browser's user, all on one page. */
async function documentIds(b: Browser): Promise<number[]> {
  const res = await b.get('/api/documents/?page_size=100', { headers: [['Accept', 'application/json']] });
  assert.equal(res.status, 200, `the document list answers: ${res.body}`);
  const page = JSON.parse(res.body) as { count: number; next: string | null; results: Array<{ id: number }> };
  assert.equal(page.next, null);
  assert.equal(page.count, page.results.length);
  return page.results.map((d) => d.id).sort((x, y) => x - y);
}

/** What compose's paperless-bootstrap service does on `up`: gateway+service, a superuser with the token from .env. */
async function bootstrap(upstream: Upstream, folder: string, token: string): Promise<void> {
  if (upstream instanceof DjangoUpstream) {
    const services = (parse(composeConfig(folder).stdout) as { services: Record<string, ComposeService> }).services;
    const script = services['paperless-bootstrap']?.command?.[0];
    assert.ok(script, "compose's paperless-bootstrap service has its script");
    const res = upstream.manage(['shell', '-c', script], { GATEWAY_PAPERLESS_TOKEN: token });
    assert.equal(res.status, 0, res.stderr);
    return;
  }
  assert.ok(upstream instanceof SimUpstream);
  const user = upstream.sim.addUser({ username: SERVICE_ACCOUNT, is_superuser: true, is_staff: true });
  upstream.sim.tokens.set(token, user.id);
}

describe('first deployment: init against a directory with its own CA', () => {
  const slapd = new Slapd({ tls: true });
  let port: number;
  let folder: string;
  let written: Record<string, string>;
  const scratch: string[] = [];
  const emptyFolder = () => {
    const dir = mkdtempSync(join(tmpdir(), 'plg-first-deployment-'));
    scratch.push(dir);
    return dir;
  };

  before(async () => {
    await slapd.start();
    await slapd.seed();
    port = await freePort();
    folder = emptyFolder();
  });
  after(async () => {
    await slapd.destroy();
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  it('a wrong user base: exit 1, the reason and the option to change, no file written', async () => {
    const dir = emptyFolder();
    const res = await init(join(dir, '.env'), { ...answers(slapd, port), '--user-base': 'ou=staff,dc=example,dc=com' });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /nothing written/);
    assert.match(res.stderr, /"ou=staff,dc=example,dc=com" does not exist/);
    assert.match(res.stderr, /--user-base/);
    assert.doesNotMatch(res.stderr, /NoSuchObjectError/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a wrong admin group: exit 1, the group that was not found, no file written', async () => {
    const dir = emptyFolder();
    const res = await init(join(dir, '.env'), { ...answers(slapd, port), '--admin-group': 'paperless-bosses' });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /FAIL --admin-group: no group "paperless-bosses"/);
    assert.match(res.stderr, /ok {3}--user-group: found the group "paperless-users"/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it("no CA for the directory's own certificate: exit 1, naming --ca-file, no file written", async () => {
    const dir = emptyFolder();
    const withoutCa = Object.fromEntries(Object.entries(answers(slapd, port)).filter(([flag]) => flag !== '--ca-file'));
    const res = await init(join(dir, '.env'), withoutCa);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /certificate is not trusted/);
    assert.match(res.stderr, /--ca-file/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('writes .env (private), provisioning.yaml and the CA beside it, and never overwrites them', async () => {
    const env = join(folder, '.env');
    const res = await init(env, answers(slapd, port));
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^Wrote .*\.env, .*provisioning\.yaml, .*certs\/ldap-ca\.pem, and made the folders consume and export\./);
    assert.equal(statSync(env).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(folder, 'certs/ldap-ca.pem'), 'utf8'), readFileSync(slapd.caFile, 'utf8'));
    written = readDotenv(env);
    const paperlessUser = Number(written.USERMAP_UID);
    assert.equal(paperlessUser, process.getuid?.() === 0 ? 1000 : process.getuid?.(), 'USERMAP_UID: who runs init, or 1000 for root');
    for (const made of ['consume', 'export']) assert.equal(statSync(join(folder, made)).uid, paperlessUser, `${made} belongs to the user Paperless runs as`);
    assert.equal(written.GATEWAY_LDAP_ALLOWED_GROUPS, 'paperless-admins;paperless-users');
    assert.equal(written.GATEWAY_LDAP_CA_FILE, '/config/certs/ldap-ca.pem');
    assert.equal(written.GATEWAY_TRUST_PROXY, 'false');
    assert.equal(written.COMPOSE_PROFILES, 'postgres');
    assert.equal(written.PAPERLESS_DBHOST, 'postgres');
    assert.match(written.PAPERLESS_DBPASS ?? '', /^[0-9a-f]{48}$/);
    const mapping = loadMapping(join(folder, 'provisioning.yaml'), diskFiles);
    assert.deepEqual(
      mapping.groups.map((g) => [g.ldap, g.paperless, g.permissions, g.superuser]),
      [
        ['paperless-admins', 'paperless-admins', ['all'], true],
        ['paperless-users', 'paperless-users', ['viewer'], false],
      ],
    );

    const before = readdirSync(folder).sort();
    const again = await init(env, answers(slapd, port));
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists; init never overwrites it/);
    assert.deepEqual(readdirSync(folder).sort(), before);
    const mappingOnly = emptyFolder();
    copyFileSync(join(folder, 'provisioning.yaml'), join(mappingOnly, 'provisioning.yaml'));
    const beside = await init(join(mappingOnly, '.env'), answers(slapd, port), ['--no-check']);
    assert.equal(beside.code, 2);
    assert.match(beside.stderr, /provisioning\.yaml exists; init never overwrites it/);
    assert.deepEqual(readdirSync(mappingOnly), ['provisioning.yaml'], 'no .env written either, no folder made');
  });

  it('compose validates with the written .env and runs its postgres profile', () => {
    const res = composeConfig(folder, ['-q']);
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(servicesUp(folder).sort(), ['gateway', 'paperless', 'paperless-bootstrap', 'postgres', 'redis'], 'COMPOSE_PROFILES=postgres from .env, and no https');
  });

  it('with --tls-front caddy: the https profile, published on 127.0.0.1 only, and the gateway trusts Caddy alone', async () => {
    const dir = emptyFolder();
    const res = await init(join(dir, '.env'), { ...answers(slapd, port), '--public-url': 'https://paperless.example.com', '--tls-front': 'caddy', '--certificate': 'internal' }, ['--no-check']);
    assert.equal(res.code, 0, res.stderr);
    const env = readDotenv(join(dir, '.env'));
    assert.equal(env.COMPOSE_PROFILES, 'postgres,https');
    assert.equal(env.GATEWAY_PUBLISH_ADDRESS, '127.0.0.1');
    assert.equal(env.GATEWAY_HTTPS_CERTIFICATE, 'internal');
    const valid = composeConfig(dir, ['-q']);
    assert.equal(valid.status, 0, valid.stderr);
    const { services } = parse(composeConfig(dir).stdout) as { services: Record<string, ComposeService> };
    assert.deepEqual(servicesUp(dir).sort(), ['caddy', 'gateway', 'paperless', 'paperless-bootstrap', 'postgres', 'redis'], 'both profiles run');
    assert.ok(services.caddy);
    const caddyAddress = Object.values(services.caddy.networks ?? {}).find((n) => n?.ipv4_address)?.ipv4_address;
    assert.ok(caddyAddress, 'Caddy has a fixed address');
    assert.equal(env.GATEWAY_TRUST_PROXY, caddyAddress, "the one address the gateway trusts is Caddy's");
    const published = JSON.stringify(services.gateway?.ports);
    assert.match(published, /127\.0\.0\.1/, `the gateway's port is published on the loopback only: ${published}`);
  });

  for (const kind of upstreamKinds()) {
    describe(`the gateway from exactly what init wrote (${kind})`, () => {
      let upstream: Upstream;
      let gateway: GatewayProcess;
      // Its own Redis per Paperless: the gateway remembers in Redis whom it provisioned already.
      const gatewayRedis = new RedisServer();
      let changed: Record<string, string>;
      /** What Paperless holds before anyone signs in through the gateway. */
      const documents = { ownerless: 0, sharedWithGroup: 0, colleagues: 0 };
      let daveId: number;
      before(async () => {
        assert.ok(written, 'init wrote the .env (the test above)');
        upstream = createUpstream(kind);
        await Promise.all([upstream.start(), gatewayRedis.start()]);
        await bootstrap(upstream, folder, written.GATEWAY_PAPERLESS_TOKEN as string);
        // Paperless already has documents: one from the consume folder (no owner), and two of a
        // colleague with a local account, one shared with the Paperless group named like the user
        // group (made without permissions: the gateway gives it viewer's), one not shared.
        await upstream.addGroup('paperless-users');
        daveId = (await upstream.addUser({ username: 'dave' })).id;
        documents.ownerless = (await upstream.addDocument({ title: 'scanned letter' })).id;
        documents.sharedWithGroup = (await upstream.addDocument({ title: 'team handbook', owner: 'dave', viewGroups: ['paperless-users'] })).id;
        documents.colleagues = (await upstream.addDocument({ title: "dave's payslip", owner: 'dave' })).id;
        // Only what compose.yaml fixes for the gateway, and where its volumes put the files.
        changed = {
          GATEWAY_UPSTREAM_URL: upstream.url,
          GATEWAY_REDIS_URL: gatewayRedis.url,
          GATEWAY_PORT: String(port),
          GATEWAY_HOST: '127.0.0.1',
          GATEWAY_PROVISIONING_FILE: join(folder, 'provisioning.yaml'),
          GATEWAY_LDAP_CA_FILE: (written.GATEWAY_LDAP_CA_FILE as string).replace('/config/certs/', `${join(folder, 'certs')}/`),
        };
        gateway = new GatewayProcess({ ...written, ...changed });
        await gateway.start();
      });
      after(async () => {
        await gateway?.stop();
        await Promise.all([upstream?.destroy(), gatewayRedis.destroy()]);
      });

      it('changes nothing but addresses', () => {
        const settingsChanged = Object.keys(changed).filter((k) => k in written);
        assert.deepEqual(settingsChanged.sort(), ['GATEWAY_LDAP_CA_FILE'], 'of the written settings, only the in-container CA path differs');
      });

      it('a member of the admin group signs in, is a Paperless superuser and sees every document', async () => {
        const b = new Browser(gateway.url);
        assert.equal((await b.login('alice', 'alice-pass', '/documents/')).status, 303);
        const page = await b.get('/documents/');
        assert.equal(page.status, 200);
        assert.match(page.body, /id="user">alice</);
        assert.match(page.body, /id="superuser">yes</);
        const alice = await upstream.user('alice');
        assert.deepEqual([alice?.is_superuser, alice?.is_staff], [true, true]);
        assert.deepEqual(await documentIds(b), [documents.ownerless, documents.sharedWithGroup, documents.colleagues], 'a superuser sees every document');
        const colleagues = await b.get(`/api/documents/${documents.colleagues}/`, { headers: [['Accept', 'application/json']] });
        assert.equal(colleagues.status, 200, colleagues.body);
        assert.deepEqual(JSON.parse(colleagues.body), { id: documents.colleagues, title: "dave's payslip", owner: daveId });
      });

      it("a member of the user group signs in, in the user group's Paperless group with viewer's permissions, and sees the ownerless document and the one shared with the group", async () => {
        const b = new Browser(gateway.url);
        assert.equal((await b.login('bob', 'bob-pass', '/documents/')).status, 303);
        const page = await b.get('/documents/');
        assert.equal(page.status, 200);
        assert.match(page.body, /id="superuser">no</);
        assert.match(page.body, /id="groups">[^<]*paperless-users/);
        assert.deepEqual(
          await documentIds(b),
          [documents.ownerless, documents.sharedWithGroup],
          "view_document through the group: the ownerless document and the one shared with the group, not the colleague's own",
        );
        const json: Array<[string, string]> = [['Accept', 'application/json']];
        const shared = await b.get(`/api/documents/${documents.sharedWithGroup}/`, { headers: json });
        assert.equal(shared.status, 200, shared.body);
        assert.deepEqual(JSON.parse(shared.body), { id: documents.sharedWithGroup, title: 'team handbook', owner: daveId });
        const notShared = await b.get(`/api/documents/${documents.colleagues}/`, { headers: json });
        assert.equal(notShared.status, 404, "the colleague's own document does not exist for bob");
        assert.deepEqual(JSON.parse(notShared.body), { detail: 'No Document matches the given query.' });
        const bob = await upstream.user('bob');
        assert.equal(bob?.is_superuser, false);
        const groups = await new Browser(upstream.url).get('/api/groups/?page_size=100', { headers: [['Authorization', `Token ${written.GATEWAY_PAPERLESS_TOKEN}`]] });
        const group = (JSON.parse(groups.body) as { results: Array<{ id: number; name: string; permissions: string[] }> }).results.find((g) => g.name === 'paperless-users');
        assert.ok(group && bob?.groups.includes(group.id), 'bob is in the Paperless group paperless-users');
        assert.ok(group.permissions.includes('view_document'), 'viewer: sees documents');
        assert.ok(!group.permissions.includes('change_document') && !group.permissions.includes('add_document'), 'viewer: changes none');
      });

      it('anyone else is refused with the allowed-groups message', async () => {
        const res = await new Browser(gateway.url).login('carol', 'carol-pass');
        assert.equal(res.status, 403);
        assert.match(res.body, /not allowed to use Paperless/);
        const api = await new Browser(gateway.url).get('/api/documents/', { headers: [['Authorization', `Basic ${Buffer.from('carol:carol-pass').toString('base64')}`]] });
        assert.equal(api.status, 403, 'her API requests too (Basic auth): no document list');
        assert.match(api.body, /not allowed to use Paperless/);
        assert.equal(await upstream.user('carol'), undefined, 'never provisioned');
      });
    });
  }
});
