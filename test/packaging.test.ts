import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../src/config/load.js';
import { envSchema, SECRET_VARIABLES } from '../src/config/schema.js';
import { composeDemoLdif } from './support/directory-data.js';
import { COMPILED_LAUNCH, REPO_ROOT } from './support/gateway.js';
import { startStack } from './support/stack.js';

interface Service {
  environment?: Record<string, string>;
  ports?: string[];
  image?: string;
  build?: string;
}

const compose = parse(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8')) as { services: Record<string, Service> };

function dockerCompose(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync('docker-compose', args, { cwd: REPO_ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
}

describe('compose.yaml', () => {
  it("is valid for Debian's docker-compose with the documented variables", () => {
    const res = dockerCompose(['--env-file', 'test/compose.env', '-f', 'compose.yaml', 'config', '-q']);
    assert.equal(res.error, undefined, 'docker-compose is installed (npm run setup:debian)');
    assert.equal(res.status, 0, res.stderr);
  });

  it('refuses to start without .env, naming a missing variable and the command that writes it', () => {
    const res = dockerCompose(['-f', 'compose.yaml', 'config', '-q']);
    assert.notEqual(res.status, 0);
    // Compose v1 names the first missing variable only.
    assert.match(res.stderr, /set (GATEWAY|PAPERLESS)_[A-Z_]+ \(paperless-ldap-gateway init writes it\)/);
  });

  it('hands the gateway the whole env file, and fixes only what compose itself decides', () => {
    const known = new Set([...Object.keys(envSchema.shape), ...SECRET_VARIABLES.map((n) => `${n}_FILE`)]);
    const gateway = compose.services.gateway as Service & { env_file?: string };
    assert.equal(gateway.env_file, '${GATEWAY_ENV_FILE:-.env}');
    const names = Object.keys(gateway.environment ?? {});
    assert.deepEqual(names.sort(), ['GATEWAY_PORT', 'GATEWAY_PROVISIONING_FILE', 'GATEWAY_REDIS_URL', 'GATEWAY_UPSTREAM_URL']);
    for (const name of names) assert.ok(known.has(name), `${name} in compose.yaml is not a gateway setting`);
  });

  it('keeps Paperless unpublished, in remote-user mode, behind the gateway', () => {
    const paperless = compose.services.paperless;
    assert.ok(paperless);
    assert.equal(paperless.ports, undefined, 'Paperless must not publish a port');
    assert.equal(paperless.environment?.PAPERLESS_ENABLE_HTTP_REMOTE_USER, 'true');
    assert.equal(compose.services.gateway?.environment?.GATEWAY_UPSTREAM_URL, 'http://paperless:8000');
  });

  it('defaults to Paperless 3.x, which counts the gateway as its one proxy (allauth), without PAPERLESS_TRUSTED_PROXIES (contract §9)', () => {
    const res = dockerCompose(['--env-file', 'test/compose.env', '-f', 'compose.yaml', 'config']);
    assert.equal(res.status, 0, res.stderr);
    const resolved = parse(res.stdout) as { services: Record<string, Service> };
    assert.equal(resolved.services.paperless?.image, 'ghcr.io/paperless-ngx/paperless-ngx:3.0');
    // It only feeds Paperless's log line and matches by string prefix: a CIDR never matches.
    assert.equal(resolved.services.paperless?.environment?.PAPERLESS_TRUSTED_PROXIES, undefined);
    assert.equal(resolved.services.paperless?.environment?.PAPERLESS_ALLAUTH_TRUSTED_PROXY_COUNT, '1');
    const old = dockerCompose(['--env-file', 'test/compose.env', '-f', 'compose.yaml', 'config'], { PAPERLESS_IMAGE_TAG: '2.20' });
    assert.match(old.stdout, /image: ghcr\.io\/paperless-ngx\/paperless-ngx:2\.20/, '2.20 is one variable away');
  });
});

describe('the compiled gateway (dist/, as the image runs it)', () => {
  it('serves the login page with its stylesheet, signs in and proxies', async () => {
    const stack = await startStack({ launch: COMPILED_LAUNCH });
    try {
      const b = stack.browser();
      const page = await b.get('/accounts/login/');
      assert.equal(page.status, 200);
      assert.equal((await b.get('/_gateway/static/gateway.css')).status, 200);
      assert.equal((await b.login('alice', 'alice-pass')).status, 303);
      assert.match((await b.get('/documents/')).body, /id="user">alice</);
    } finally {
      await stack.stop();
    }
  });

  it('exits 0 on SIGTERM', async () => {
    const stack = await startStack({ launch: COMPILED_LAUNCH });
    try {
      assert.equal(await stack.gateway.stop(), 0);
    } finally {
      await stack.stop();
    }
  });
});

describe('compose demo profile', () => {
  const demoEnv = Object.fromEntries(
    readFileSync(join(REPO_ROOT, 'test/demo/compose.env'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

  it('is valid for docker-compose and adds the OpenLDAP service, and only that', () => {
    const res = dockerCompose(['--env-file', 'test/demo/compose.env', '-f', 'compose.yaml', 'config']);
    assert.equal(res.status, 0, res.stderr);
    // `config` lists every service whatever the profiles; `up` starts those in none or in an enabled one.
    const { services } = parse(res.stdout) as { services: Record<string, Service & { profiles?: string[] }> };
    const enabled = (demoEnv.COMPOSE_PROFILES ?? '').split(',');
    const started = Object.entries(services).filter(([, s]) => !s.profiles || s.profiles.some((p) => enabled.includes(p)));
    assert.deepEqual(started.map(([name]) => name).sort(), ['gateway', 'openldap', 'paperless', 'paperless-bootstrap', 'redis']);
  });

  it("seeds the directory the tests use, and the gateway accepts the demo's settings and mapping", () => {
    const ldif = readFileSync(join(REPO_ROOT, 'test/demo/ldif/50-demo.ldif'), 'utf8');
    assert.equal(ldif.slice(ldif.indexOf('\n') + 1), composeDemoLdif());
    const res = dockerCompose(['--env-file', 'test/demo/compose.env', '-f', 'compose.yaml', 'config']);
    assert.equal(res.status, 0, res.stderr);
    const resolved = parse(res.stdout) as { services: Record<string, Service> };
    const env: Record<string, string> = Object.fromEntries(Object.entries(resolved.services.gateway?.environment ?? {}).map(([k, v]) => [k, String(v)]));
    env.GATEWAY_PROVISIONING_FILE = join(REPO_ROOT, demoEnv.GATEWAY_PROVISIONING_HOST_FILE ?? '');
    const config = loadConfig(env);
    assert.equal(config.ldap.urls[0], 'ldap://openldap:389');
    assert.deepEqual(config.provisioning.mapping.groups.map((g) => g.paperless), ['Admins', 'Accounting', 'Staff']);
    assert.equal(config.provisioning.token, demoEnv.GATEWAY_PAPERLESS_TOKEN);
  });
});
