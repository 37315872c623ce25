import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { envSchema, SECRET_VARIABLES } from '../src/config/schema.js';
import { REPO_ROOT } from './support/gateway.js';
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

  it('refuses to start without the required secrets, naming them', () => {
    const res = dockerCompose(['-f', 'compose.yaml', 'config', '-q']);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /set GATEWAY_/);
  });

  it("names only settings the gateway knows, so compose and the code stay in step", () => {
    const known = new Set([...Object.keys(envSchema.shape), ...SECRET_VARIABLES.map((n) => `${n}_FILE`)]);
    const names = Object.keys(compose.services.gateway?.environment ?? {});
    assert.ok(names.length > 5);
    for (const name of names) assert.ok(known.has(name), `${name} in compose.yaml is not a gateway setting`);
  });

  it('keeps Paperless unpublished, in remote-user mode, behind the gateway', () => {
    const paperless = compose.services.paperless;
    assert.ok(paperless);
    assert.equal(paperless.ports, undefined, 'Paperless must not publish a port');
    assert.equal(paperless.environment?.PAPERLESS_ENABLE_HTTP_REMOTE_USER, 'true');
    assert.equal(compose.services.gateway?.environment?.GATEWAY_UPSTREAM_URL, 'http://paperless:8000');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };

  it('runs the package binary as a non-root user on the current LTS', () => {
    assert.match(dockerfile, /^FROM node:24-slim AS build$/m);
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, new RegExp(`ENTRYPOINT \\["node", "${pkg.bin['paperless-ldap-gateway']}"\\]`));
  });

  it('checks health on the endpoint the gateway serves, and ships the views', () => {
    assert.match(dockerfile, /HEALTHCHECK .*\n?.*\/_gateway\/health/);
    assert.match(dockerfile, /^COPY views \.\/views$/m);
  });
});

describe('the compiled gateway (dist/, as the image runs it)', () => {
  it('serves the login page with its stylesheet, signs in and proxies', async () => {
    const stack = await startStack({ compiled: true });
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
    const stack = await startStack({ compiled: true });
    try {
      assert.equal(await stack.gateway.stop(), 0);
    } finally {
      await stack.stop();
    }
  });
});
