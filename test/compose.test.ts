/**
 * compose.yaml's profiles, validated by Debian's docker-compose (1.29) as an admin's folder holds
 * it: compose.yaml, the .env init writes, provisioning.yaml. No docker engine runs here, so what
 * `up` would start is read from `config`: compose starts every service without a profile and
 * those with a profile COMPOSE_PROFILES enables.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { PAPERLESS_BOOTSTRAP_SCRIPT } from '../src/cli/bootstrap-script.js';
import { loadConfig } from '../src/config/load.js';
import { REPO_ROOT, runCliToEnd } from './support/gateway.js';

interface Service {
  profiles?: string[];
  environment?: Record<string, string | null>;
  ports?: Array<string | { published: number | string; target: number; protocol?: string; host_ip?: string }>;
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string } | null>;
  command?: string[];
  user?: string;
  image?: string;
}

interface Resolved {
  services: Record<string, Service>;
  networks: Record<'default' | 'front', { ipam: { config: Array<{ subnet: string; ip_range?: string }> } }>;
  volumes: Record<string, unknown>;
}

/** Today's init output (before the profiles): what existing installs have as .env. */
const OLD_ENV = readFileSync(join(REPO_ROOT, 'test/compose.env'), 'utf8').replace(/^GATEWAY_ENV_FILE=.*\n?/m, '');

/** What init writes for a new install (the shared design of issue 36), on top of the old lines. */
function newEnv(profiles: string): string {
  const lines = [`COMPOSE_PROFILES=${profiles}`, 'PAPERLESS_TIME_ZONE=Europe/Berlin', 'PAPERLESS_OCR_LANGUAGE=deu+eng', 'USERMAP_UID=1001', 'USERMAP_GID=1002'];
  if (profiles.includes('postgres')) lines.push('PAPERLESS_DBHOST=postgres', 'PAPERLESS_DBPASS=9f2c4e1d8b7a60513c2e4f6a8b0d1e3f');
  if (profiles.includes('https')) {
    lines.push('GATEWAY_PUBLISH_ADDRESS=127.0.0.1', 'GATEWAY_PUBLISH_PORT=8080', 'GATEWAY_HTTPS_CERTIFICATE=internal', 'GATEWAY_TRUST_PROXY=172.30.251.250');
  } else {
    lines.push('GATEWAY_PUBLISH_ADDRESS=0.0.0.0', 'GATEWAY_PUBLISH_PORT=8080');
  }
  return `${OLD_ENV}${lines.join('\n')}\n`;
}

const folders: string[] = [];
after(() => folders.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A folder as README sets it up, and docker-compose's answer to `config` (and `config -q`) there. */
function composeIn(env: string): { dir: string; resolved: Resolved } {
  const dir = mkdtempSync(join(tmpdir(), 'plg-compose-'));
  folders.push(dir);
  copyFileSync(join(REPO_ROOT, 'compose.yaml'), join(dir, 'compose.yaml'));
  writeFileSync(join(dir, 'provisioning.yaml'), '');
  writeFileSync(join(dir, '.env'), env);
  const run = (args: string[]) => spawnSync('docker-compose', ['-f', join(dir, 'compose.yaml'), ...args], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
  const quiet = run(['config', '-q']);
  assert.equal(quiet.error, undefined, 'docker-compose is installed (npm run setup:debian)');
  assert.equal(quiet.status, 0, quiet.stderr);
  const full = run(['config']);
  assert.equal(full.status, 0, full.stderr);
  return { dir, resolved: parse(full.stdout) as Resolved };
}

/** The services `docker compose up` starts with this .env's COMPOSE_PROFILES. */
function started(resolved: Resolved, env: string): string[] {
  const enabled = (/^COMPOSE_PROFILES=(.*)$/m.exec(env)?.[1] ?? '').split(',').filter(Boolean);
  return Object.entries(resolved.services)
    .filter(([, s]) => !s.profiles || s.profiles.some((p) => enabled.includes(p)))
    .map(([name]) => name)
    .sort();
}

const ipv4 = (address: string) => address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
function inCidr(address: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = ipv4(base) - (ipv4(base) % size);
  return ipv4(address) >= start && ipv4(address) < start + size;
}

const hostPorts = (s: Service | undefined) =>
  (s?.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.host_ip ? `${p.host_ip}:` : ''}${p.published}:${p.target}/${p.protocol ?? 'tcp'}`)).sort();

const BASE = ['gateway', 'paperless', 'paperless-bootstrap', 'redis'];

describe('compose.yaml profiles, with the .env init writes', () => {
  for (const [profiles, extra] of [
    ['', []],
    ['postgres', ['postgres']],
    ['https', ['caddy']],
    ['postgres,https', ['caddy', 'postgres']],
  ] as const) {
    it(`validates with COMPOSE_PROFILES=${profiles || '(none)'} and starts ${[...BASE, ...extra].join(', ')}`, () => {
      const env = newEnv(profiles);
      const { resolved } = composeIn(env);
      assert.deepEqual(started(resolved, env), [...BASE, ...extra].sort());
    });
  }

  it('an existing install (an .env from before the profiles) validates and keeps SQLite, plain HTTP on 0.0.0.0:8080, no Caddy', () => {
    const { resolved } = composeIn(OLD_ENV);
    assert.deepEqual(started(resolved, OLD_ENV), BASE);
    const { paperless, gateway } = resolved.services;
    assert.deepEqual(hostPorts(gateway), ['0.0.0.0:8080:8080/tcp']);
    // Paperless reads an empty PAPERLESS_DBHOST as "no PostgreSQL": its SQLite file in paperless-data.
    assert.equal(paperless?.environment?.PAPERLESS_DBHOST ?? '', '');
    assert.equal(resolved.services['paperless-bootstrap']?.environment?.PAPERLESS_DBHOST ?? '', '');
    assert.ok(paperless?.volumes?.includes('paperless-data:/usr/src/paperless/data:rw'));
    assert.equal(paperless?.environment?.USERMAP_UID, '1000');
    assert.equal(resolved.services['paperless-bootstrap']?.user, '1000:1000');
    // The old publish variable still moves the port.
    const moved = composeIn(`${OLD_ENV}GATEWAY_PUBLISH_PORT=8443\n`).resolved.services.gateway;
    assert.deepEqual(hostPorts(moved), ['0.0.0.0:8443:8080/tcp']);
  });

  it('postgres: Paperless and the bootstrap service reach the same database, with the password init wrote', () => {
    const env = newEnv('postgres');
    const { resolved } = composeIn(env);
    const password = /^PAPERLESS_DBPASS=(.*)$/m.exec(env)?.[1];
    const db = resolved.services.postgres;
    assert.equal(db?.image, 'postgres:17');
    assert.deepEqual([db?.environment?.POSTGRES_DB, db?.environment?.POSTGRES_USER, db?.environment?.POSTGRES_PASSWORD], ['paperless', 'paperless', password]);
    assert.ok(db?.volumes?.includes('pgdata:/var/lib/postgresql/data:rw'));
    assert.ok('pgdata' in resolved.volumes);
    for (const name of ['paperless', 'paperless-bootstrap']) {
      const e = resolved.services[name]?.environment ?? {};
      assert.deepEqual([e.PAPERLESS_DBHOST, e.PAPERLESS_DBNAME, e.PAPERLESS_DBUSER, e.PAPERLESS_DBPASS], ['postgres', 'paperless', 'paperless', password], name);
    }
    assert.equal(db?.ports, undefined, 'the database publishes no port');
  });

  it("https: Caddy publishes 80 and 443 at a fixed address docker never hands out, the gateway only on loopback, and it trusts Caddy's address alone", () => {
    const env = newEnv('https');
    const { dir, resolved } = composeIn(env);
    const { caddy, gateway } = resolved.services;
    assert.deepEqual(hostPorts(gateway), ['127.0.0.1:8080:8080/tcp']);
    assert.deepEqual(hostPorts(caddy), ['443:443/tcp', '443:443/udp', '80:80/tcp']);
    const address = caddy?.networks?.front?.ipv4_address ?? '';
    assert.deepEqual(Object.keys(caddy?.networks ?? {}), ['front'], 'Caddy reaches the gateway alone, never Paperless');
    assert.deepEqual(Object.keys(gateway?.networks ?? {}).sort(), ['default', 'front']);
    const [network] = resolved.networks.front.ipam.config;
    assert.ok(network?.ip_range, 'docker hands out addresses from a range');
    assert.equal(address, '172.30.251.250');
    // Existing installs: the default network is as it always was, so docker recreates nothing.
    assert.deepEqual(resolved.networks.default.ipam.config, [{ subnet: '172.30.250.0/24' }]);
    assert.ok(inCidr(address, network.subnet), `${address} is inside ${network.subnet}`);
    assert.ok(!inCidr(address, network.ip_range), `${address} is outside ${network.ip_range}, so no other container gets it`);
    assert.ok(inCidr(network.ip_range.split('/')[0] ?? '', network.subnet), 'the range is inside the subnet');
    // The gateway gets GATEWAY_TRUST_PROXY from .env: exactly Caddy's address.
    assert.equal(gateway?.environment?.GATEWAY_TRUST_PROXY, address);
    assert.equal(caddy?.environment?.GATEWAY_HTTPS_CERTIFICATE, 'internal');
    assert.equal(caddy?.environment?.GATEWAY_PUBLIC_URL, 'https://paperless.example.com');
    assert.ok(caddy?.volumes?.includes(`${join(dir, 'https')}:/https:ro`), 'the office certificate folder, read-only');
    // Caddy's key is in a folder the gateway never mounts, and Caddy does not mount the gateway's certs.
    assert.ok(!caddy?.volumes?.some((v) => v.startsWith(`${join(dir, 'certs')}:`)), 'Caddy does not mount ./certs');
    assert.ok(!gateway?.volumes?.some((v) => v.startsWith(`${join(dir, 'https')}:`)), 'the gateway does not mount ./https');
    for (const [name, service] of Object.entries(resolved.services)) {
      if (name !== 'caddy') assert.ok(!service.volumes?.some((v) => v.startsWith(`${join(dir, 'https')}:`)), `${name} does not mount ./https`);
    }
    assert.ok(caddy?.volumes?.some((v) => v.startsWith('caddy-data:/data')), "Caddy's certificates and CA survive a restart");
    // Without the variable, auto: a public certificate by ACME.
    assert.equal(composeIn(`${OLD_ENV}COMPOSE_PROFILES=https\n`).resolved.services.caddy?.environment?.GATEWAY_HTTPS_CERTIFICATE, 'auto');
  });

  it("Paperless's own settings, the export and certs folders, and no PAPERLESS_TRUSTED_PROXIES (contract §9)", () => {
    const { dir, resolved } = composeIn(newEnv('postgres,https'));
    const { paperless, gateway } = resolved.services;
    const e = paperless?.environment ?? {};
    assert.deepEqual([e.PAPERLESS_TIME_ZONE, e.PAPERLESS_OCR_LANGUAGE, e.USERMAP_UID, e.USERMAP_GID], ['Europe/Berlin', 'deu+eng', '1001', '1002']);
    assert.equal(e.PAPERLESS_TRUSTED_PROXIES, undefined);
    assert.equal(e.PAPERLESS_ALLAUTH_TRUSTED_PROXY_COUNT, '1');
    assert.ok(paperless?.volumes?.includes(`${join(dir, 'export')}:/usr/src/paperless/export:rw`));
    assert.ok(paperless?.volumes?.includes(`${join(dir, 'consume')}:/usr/src/paperless/consume:rw`));
    assert.equal(resolved.services['paperless-bootstrap']?.user, '1001:1002', "the bootstrap runs as Paperless's mapped user");
    assert.ok(gateway?.volumes?.includes(`${join(dir, 'certs')}:/config/certs:ro`), "the directory's CA, where init points GATEWAY_LDAP_CA_FILE");
    assert.equal(paperless?.ports, undefined, 'Paperless publishes no port');
  });

  it("the front network's comment names every setting that must move with it, GATEWAY_TRUST_PROXY included", () => {
    const text = readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8');
    const lines = text.slice(0, text.indexOf('\n  front:\n')).split('\n');
    const comment = lines.slice(lines.findLastIndex((l) => !l.trimStart().startsWith('#')) + 1).join('\n');
    for (const name of ['GATEWAY_FRONT_SUBNET', 'GATEWAY_FRONT_IP_RANGE', 'GATEWAY_HTTPS_PROXY_ADDRESS', 'GATEWAY_TRUST_PROXY']) assert.match(comment, new RegExp(name), name);
    assert.doesNotMatch(comment, /all three/);
  });

  it('the gateway accepts everything compose hands it, the compose-only variables included', () => {
    const { dir, resolved } = composeIn(newEnv('postgres,https'));
    const env = Object.fromEntries(Object.entries(resolved.services.gateway?.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]));
    for (const name of ['GATEWAY_PUBLISH_ADDRESS', 'GATEWAY_PUBLISH_PORT', 'GATEWAY_HTTPS_CERTIFICATE']) assert.ok(name in env, `${name} reaches the gateway`);
    const config = loadConfig({ ...env, GATEWAY_PROVISIONING_FILE: join(dir, 'provisioning.yaml') });
    assert.equal(config.server.port, 8080);
    assert.deepEqual(config.server.trustProxy, ['172.30.251.250']);
  });
});

describe('the paperless-bootstrap script', () => {
  const composeScript = (parse(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8')) as { services: Record<string, Service> }).services['paperless-bootstrap']?.command?.[0];

  it("is the same text in compose.yaml and in the gateway's paperless-bootstrap-script command", async () => {
    assert.equal(composeScript, PAPERLESS_BOOTSTRAP_SCRIPT);
    assert.ok(!PAPERLESS_BOOTSTRAP_SCRIPT.includes('$'), 'no $: compose would read it as a variable');
    // Needs no settings: it runs where Paperless is.
    const res = await runCliToEnd(['paperless-bootstrap-script'], {});
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, PAPERLESS_BOOTSTRAP_SCRIPT);
    const help = await runCliToEnd(['paperless-bootstrap-script', '--help'], {});
    assert.match(help.stdout, /python3 manage\.py shell -c "\$\(paperless-ldap-gateway paperless-bootstrap-script\)"/);
  });
});
