/**
 * The first run, as README's compose quick start walks it: `init` writes the .env, compose hands
 * every setting to the gateway, and the one-shot paperless-bootstrap service gives the gateway
 * its Paperless superuser with exactly the token init wrote (run here on the Django upstream).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { initCommand, type InitIo } from '../src/cli/init.js';
import { SERVICE_ACCOUNT } from '../src/cli/env-file.js';
import { COMPOSE_VARIABLES, loadConfig } from '../src/config/load.js';
import { envSchema, SECRET_VARIABLES } from '../src/config/schema.js';
import { DjangoUpstream } from './support/django-upstream.js';
import { COMPILED_LAUNCH, REPO_ROOT, runCliToEnd } from './support/gateway.js';
import { Browser } from './support/http-client.js';

interface Service {
  environment?: Record<string, string>;
  entrypoint?: string[];
  command?: string[];
  profiles?: string[];
  user?: string;
}

const ANSWERS = {
  '--public-url': 'https://paperless.example.com',
  '--ldap-url': 'ldaps://dc1.example.com',
  '--bind-dn': 'cn=gateway,ou=services,dc=example,dc=com',
  // What .env readers trip over: $, #, spaces, double quotes.
  '--bind-password': 'p$ss #word "x" $HOME',
  '--user-base': 'ou=people,dc=example,dc=com',
};


const runToEnd = (args: string[]) => runCliToEnd(args, {}, COMPILED_LAUNCH);

/** `docker-compose config` in a folder holding compose.yaml, .env and provisioning.yaml, as README sets it up. */
function composeConfig(dir: string): { services: Record<string, Service> } {
  const res = spawnSync('docker-compose', ['--env-file', join(dir, '.env'), '-f', join(dir, 'compose.yaml'), 'config'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(res.error, undefined, 'docker-compose is installed (npm run setup:debian)');
  assert.equal(res.status, 0, res.stderr);
  return parse(res.stdout) as { services: Record<string, Service> };
}

/** compose's own escape for a literal $ in `config` output. */
const unescape = (v: string) => v.replace(/\$\$/g, '$');

describe('first run: init, then compose', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plg-first-run-'));
    copyFileSync(join(REPO_ROOT, 'compose.yaml'), join(dir, 'compose.yaml'));
    writeFileSync(join(dir, 'provisioning.yaml'), '');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('init writes a complete .env with fresh secrets, private, and never overwrites it', async () => {
    const envFile = join(dir, '.env');
    const res = await runToEnd(['init', '--output', envFile, ...Object.entries(ANSWERS).flat()]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Wrote .*\.env/);
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    const text = readFileSync(envFile, 'utf8');
    for (const [name, pattern] of [
      ['GATEWAY_SESSION_SECRET', /^[0-9a-f]{64}$/],
      ['GATEWAY_PAPERLESS_TOKEN', /^[0-9a-f]{40}$/],
      ['PAPERLESS_SECRET_KEY', /^[0-9a-f]{64}$/],
    ] as const) {
      assert.match(new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1] ?? '', pattern, name);
    }
    const again = await runToEnd(['init', '--output', envFile, ...Object.entries(ANSWERS).flat()]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists; init never overwrites it/);
    assert.equal(readFileSync(envFile, 'utf8'), text, 'untouched');
    const other = await runToEnd(['init', '--output', '-', ...Object.entries(ANSWERS).flat()]);
    assert.notEqual(/GATEWAY_SESSION_SECRET=(.*)/.exec(other.stdout)?.[1], /GATEWAY_SESSION_SECRET=(.*)/.exec(text)?.[1], 'every init makes new secrets');
  });

  it('compose hands the gateway every value init wrote, unchanged, and the gateway accepts them', () => {
    const gateway = composeConfig(dir).services.gateway;
    const env = Object.fromEntries(Object.entries(gateway?.environment ?? {}).map(([k, v]) => [k, unescape(String(v))]));
    assert.equal(env.GATEWAY_LDAP_BIND_PASSWORD, ANSWERS['--bind-password']);
    assert.equal(env.GATEWAY_PUBLIC_URL, ANSWERS['--public-url']);
    const written = readFileSync(join(dir, '.env'), 'utf8');
    assert.equal(env.GATEWAY_PAPERLESS_TOKEN, /^GATEWAY_PAPERLESS_TOKEN=(.*)$/m.exec(written)?.[1]);
    const config = loadConfig({ ...env, GATEWAY_PROVISIONING_FILE: join(dir, 'provisioning.yaml') });
    assert.equal(config.ldap.bindPassword, ANSWERS['--bind-password']);
    assert.equal(config.upstream.url.href, 'http://paperless:8000/');
  });

  it('every setting the gateway knows reaches the gateway service (an env file, not a hand-kept list)', () => {
    const names = [...Object.keys(envSchema.shape), ...SECRET_VARIABLES.map((n) => `${n}_FILE`), ...COMPOSE_VARIABLES].filter((n) => n !== 'GATEWAY_ENV_FILE');
    const fixed = ['GATEWAY_PORT', 'GATEWAY_UPSTREAM_URL', 'GATEWAY_REDIS_URL', 'GATEWAY_PROVISIONING_FILE'];
    const full = mkdtempSync(join(tmpdir(), 'plg-every-setting-'));
    try {
      copyFileSync(join(REPO_ROOT, 'compose.yaml'), join(full, 'compose.yaml'));
      writeFileSync(join(full, 'provisioning.yaml'), '');
      const base = readFileSync(join(dir, '.env'), 'utf8');
      // Compose reads these two itself (a port, a path), so they get values it can use.
      const value = (n: string) => (n === 'GATEWAY_PUBLISH_PORT' ? '8081' : n === 'GATEWAY_PROVISIONING_HOST_FILE' ? './provisioning.yaml' : `value-of-${n}`);
      writeFileSync(join(full, '.env'), `${base}\n${names.map((n) => `${n}=${value(n)}`).join('\n')}\n`);
      const env = composeConfig(full).services.gateway?.environment ?? {};
      for (const name of names) {
        if (fixed.includes(name)) assert.ok(env[name] && env[name] !== value(name), `${name} is fixed by compose.yaml`);
        else assert.equal(env[name], value(name), `${name} reaches the gateway`);
      }
    } finally {
      rmSync(full, { recursive: true, force: true });
    }
  });

  it('the bootstrap service is in the default profile, and Paperless trusts the scheme the gateway sets', () => {
    const { services } = composeConfig(dir);
    const bootstrap = services['paperless-bootstrap'];
    assert.ok(bootstrap, 'a paperless-bootstrap service');
    assert.equal(bootstrap.profiles, undefined, 'no profile: it runs on every `docker compose up`');
    assert.deepEqual(bootstrap.entrypoint, ['python3', 'manage.py', 'shell', '-c']);
    assert.equal(bootstrap.user, '1000:1000', "Paperless's own user, so files it makes stay Paperless's");
    assert.equal(services.paperless?.environment?.PAPERLESS_PROXY_SSL_HEADER, '["HTTP_X_FORWARDED_PROTO", "https"]');
    const validated = spawnSync('docker-compose', ['--env-file', join(dir, '.env'), '-f', join(dir, 'compose.yaml'), 'config', '-q'], { cwd: dir, encoding: 'utf8' });
    assert.equal(validated.status, 0, validated.stderr);
  });

  it('init asks only for what was not given, the password without echo, and checks the answers', async () => {
    const asked: Array<{ prompt: string; silent: boolean }> = [];
    const io: InitIo = {
      interactive: true,
      ask: async (prompt, { silent }) => {
        asked.push({ prompt, silent });
        return prompt.startsWith('Service account password') ? 'typed-secret' : prompt.startsWith('Directory kind') ? '' : 'cn=typed,dc=example,dc=com';
      },
    };
    const text = await initCommand({ values: { output: '-', 'public-url': 'http://localhost:8080', 'ldap-url': 'ldap://dc1.example.com', 'user-base': 'ou=people,dc=example,dc=com' }, positionals: [] }, io);
    assert.deepEqual(asked.map((a) => [a.prompt.split(' (')[0]?.replace(/:$/, ''), a.silent]), [
      ['Directory kind', false],
      ['Service account DN', false],
      ['Service account password', true],
    ]);
    assert.match(text, /^GATEWAY_LDAP_PRESET=openldap$/m, 'the default kind');
    assert.match(text, /^GATEWAY_LDAP_BIND_PASSWORD=typed-secret$/m);
    await assert.rejects(
      initCommand({ values: { output: '-', 'public-url': 'not a url', 'ldap-url': 'ldap://x', 'bind-dn': 'cn=a', 'bind-password': 'b', 'user-base': 'dc=x' }, positionals: [] }, io),
      /nothing written[\s\S]*GATEWAY_PUBLIC_URL: must be an absolute URL/,
    );
    await assert.rejects(
      initCommand({ values: { output: '-' }, positionals: [] }, { interactive: false, ask: async () => '' }),
      /no terminal to ask on; give --public-url, --ldap-url, --bind-dn, --bind-password, --user-base/,
    );
  });
});

describe("the paperless-bootstrap service's command, on Paperless's Django stack", () => {
  const django = new DjangoUpstream();
  let script: string;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plg-bootstrap-'));
    try {
      copyFileSync(join(REPO_ROOT, 'compose.yaml'), join(dir, 'compose.yaml'));
      // The test settings, read as .env next to compose.yaml (as README sets it up).
      writeFileSync(join(dir, '.env'), readFileSync(join(REPO_ROOT, 'test/compose.env'), 'utf8').replace(/^GATEWAY_ENV_FILE=.*$/m, ''));
      script = composeConfig(dir).services['paperless-bootstrap']?.command?.[0] ?? '';
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await django.start();
  });
  after(async () => django.destroy());

  const bootstrap = (token: string) => django.manage(['shell', '-c', script], { GATEWAY_PAPERLESS_TOKEN: token });
  /** Who Paperless takes the token for (as its request record says), or the refusal's status. */
  const profileOf = async (token: string) => {
    const mark = await django.mark();
    const res = await new Browser(django.url).get('/api/profile/', { headers: [['Authorization', `Token ${token}`]] });
    return res.status === 200 ? (await django.requestsSince(mark))[0]?.user : res.status;
  };

  it('makes the superuser with exactly that token, and changes nothing when run again', async () => {
    const token = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';
    const first = bootstrap(token);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /gateway\+service created with the gateway's token/);
    assert.equal(await profileOf(token), SERVICE_ACCOUNT);
    const user = await django.user(SERVICE_ACCOUNT);
    assert.deepEqual([user?.is_superuser, user?.is_staff, user?.is_active], [true, true, true]);
    const basic = await new Browser(django.url).get('/api/profile/', { headers: [['Authorization', `Basic ${Buffer.from(`${SERVICE_ACCOUNT}:`).toString('base64')}`]] });
    assert.equal(basic.status, 403, 'no password: nobody signs in to Paperless as it');
    const second = bootstrap(token);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /checked with the gateway's token$/m);
    assert.equal(await profileOf(token), SERVICE_ACCOUNT);
  });

  it('a new token in .env replaces the old one', async () => {
    const old = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';
    const fresh = 'b'.repeat(40);
    const res = bootstrap(fresh);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /the old one was replaced/);
    assert.equal(await profileOf(fresh), SERVICE_ACCOUNT);
    assert.equal(await profileOf(old), 403);
  });

  it("an existing superuser's token (an older install's .env) is left as it is; anyone else's is refused", async () => {
    await django.addUser({ username: 'admin', is_superuser: true, is_staff: true });
    const admins = await django.tokenFor('admin');
    const kept = bootstrap(admins);
    assert.equal(kept.status, 0, kept.stderr);
    assert.match(kept.stdout, /is the token of the superuser admin; nothing to do/);
    await django.addUser({ username: 'clerk' });
    const clerks = await django.tokenFor('clerk');
    const refused = bootstrap(clerks);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /belongs to clerk, who is not an active superuser/);
    assert.equal(await profileOf(clerks), 'clerk', "the clerk's token is untouched");
  });

  it('refuses a token that is not 32 to 40 letters and digits', () => {
    const res = bootstrap('short');
    assert.equal(res.status, 1);
    assert.match(res.stderr, /GATEWAY_PAPERLESS_TOKEN must be 32 to 40 letters and digits/);
  });
});
