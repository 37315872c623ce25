import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { mappingForLine } from '../src/config/mapping.js';
import { ConfigError } from '../src/config/errors.js';
import { envSchema } from '../src/config/schema.js';
import { COMPILED_LAUNCH, GatewayProcess, REPO_ROOT, baseEnv, freePort, runCliToEnd } from './support/gateway.js';

const REQUIRED = [
  'GATEWAY_PUBLIC_URL',
  'GATEWAY_UPSTREAM_URL',
  'GATEWAY_REDIS_URL',
  'GATEWAY_SESSION_SECRET',
  'GATEWAY_LDAP_URL',
  'GATEWAY_LDAP_BIND_DN',
  'GATEWAY_LDAP_BIND_PASSWORD',
  'GATEWAY_LDAP_USER_BASE',
];


const valid = () =>
  baseEnv({ ldapUrl: 'ldap://127.0.0.1:389', redisUrl: 'redis://127.0.0.1:6379', upstreamUrl: 'http://paperless:8000', port: 8080, paperlessToken: 'a'.repeat(40) });

function problems(env: Record<string, string>): Map<string, string> {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return new Map(err.problems.map((p) => [p.variable, p.message]));
  }
  return new Map();
}

describe('configuration', () => {
  it('an empty environment: serve lists every missing variable and exits 2', async () => {
    const { code, stderr } = await runCliToEnd(['serve'], {});
    assert.equal(code, 2);
    for (const name of REQUIRED) assert.match(stderr, new RegExp(`${name}: is required`), name);
    assert.match(stderr, /GATEWAY_PAPERLESS_TOKEN: is required while GATEWAY_PROVISIONING is on/);
  });

  it('check-config on a valid configuration with nothing reachable: exit 1, each failure named with its fix', async () => {
    const env = { ...valid(), GATEWAY_REDIS_URL: `redis://127.0.0.1:${await freePort()}`, GATEWAY_LDAP_URL: `ldap://127.0.0.1:${await freePort()}`, GATEWAY_LDAP_CONNECT_TIMEOUT: '1s' };
    const { code, stdout } = await runCliToEnd(['check-config'], env);
    assert.equal(code, 1);
    assert.match(stdout, /✔ configuration: every setting is valid/);
    assert.match(stdout, /✘ Redis: Redis at 127\.0\.0\.1:\d+ is unreachable: nothing accepts connections there \(connection refused\)\. Check that Redis runs and that GATEWAY_REDIS_URL points at it\.\n {4}fix: start Redis, or set GATEWAY_REDIS_URL to where it runs/);
    assert.doesNotMatch(stdout, /writeable|enableOfflineQueue/, "ioredis's own words say nothing to an admin");
    assert.match(stdout, /✘ directory: service account: no LDAP server answered/);
  });

  it('warns loudly at startup when LDAP certificates are not verified', async () => {
    const port = await freePort();
    const gw = new GatewayProcess({ ...valid(), GATEWAY_PORT: String(port), GATEWAY_PUBLIC_URL: `http://127.0.0.1:${port}`, GATEWAY_HOST: '127.0.0.1', GATEWAY_LDAP_TLS_SKIP_VERIFY: 'true' });
    await gw.start();
    await gw.stop();
    assert.ok(gw.logs.some((l) => l.includes('LDAP TLS CERTIFICATES ARE NOT VERIFIED') && l.includes('"level":40')));
  });

  it('an unknown command exits 2 with the usage', async () => {
    const { code, stderr } = await runCliToEnd(['frobnicate'], valid());
    assert.equal(code, 2);
    assert.match(stderr, /usage: paperless-ldap-gateway/);
  });

  it('applies the documented defaults', () => {
    const config = loadConfig(valid());
    assert.equal(config.identity.remoteUserHeader, 'Remote-User');
    assert.equal(config.identity.paperlessCookiePrefix, '');
    assert.equal(config.session.cookieName, 'gateway_session');
    assert.equal(config.session.idleTimeoutMs, 3_600_000);
    assert.equal(config.session.maxLifetimeMs, 12 * 3_600_000);
    assert.equal(config.server.trustProxy, false);
    assert.equal(config.ldap.userFilter, '(&(objectClass=inetOrgPerson)(uid={username}))');
    assert.equal(config.session.secureCookie, false);
    assert.equal(config.server.workers, 1);
    assert.equal(config.log.requests, true);
  });

  it('names each bad value with what is wrong', () => {
    const p = problems({
      ...valid(),
      GATEWAY_PORT: '70000',
      GATEWAY_PUBLIC_URL: 'paperless.example.com',
      GATEWAY_REDIS_URL: 'http://redis',
      GATEWAY_SESSION_SECRET: 'short',
      GATEWAY_LDAP_URL: 'http://dc1',
      GATEWAY_LDAP_USER_FILTER: '(uid=alice)',
      GATEWAY_REMOTE_USER_HEADER: 'Remote User',
      GATEWAY_TRUST_PROXY: 'true',
      GATEWAY_SESSION_IDLE_TIMEOUT: 'forever',
      GATEWAY_LOG_LEVEL: 'loud',
      GATEWAY_LDAP_BIND_PASWORD: 'typo',
      GATEWAY_WORKERS: 'many',
      GATEWAY_LOG_REQUESTS: 'sometimes',
    });
    assert.match(p.get('GATEWAY_WORKERS') ?? '', /whole number or "auto"/);
    assert.match(p.get('GATEWAY_LOG_REQUESTS') ?? '', /true|false/);
    assert.match(p.get('GATEWAY_PORT') ?? '', /between 1 and 65535/);
    assert.match(p.get('GATEWAY_PUBLIC_URL') ?? '', /absolute URL/);
    assert.match(p.get('GATEWAY_REDIS_URL') ?? '', /redis:\/\//);
    assert.match(p.get('GATEWAY_SESSION_SECRET') ?? '', /at least 32/);
    assert.match(p.get('GATEWAY_LDAP_URL') ?? '', /ldap:\/\//);
    assert.match(p.get('GATEWAY_LDAP_USER_FILTER') ?? '', /\{username\}/);
    assert.match(p.get('GATEWAY_REMOTE_USER_HEADER') ?? '', /header name/);
    assert.match(p.get('GATEWAY_TRUST_PROXY') ?? '', /trust every client/);
    assert.match(p.get('GATEWAY_SESSION_IDLE_TIMEOUT') ?? '', /duration/);
    assert.match(p.get('GATEWAY_LOG_LEVEL') ?? '', /one of/);
    assert.match(p.get('GATEWAY_LDAP_BIND_PASWORD') ?? '', /not a setting/);
  });

  it('every kind of value: a bad one is refused at load, naming the variable and what it must be', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-values-'));
    writeFileSync(join(dir, 'not-a-cert.pem'), 'hello');
    const cases: Array<[string, string, RegExp]> = [
      ['GATEWAY_PUBLIC_URL', 'ftp://paperless.example.com', /must start with http:\/\/ or https:\/\//],
      ['GATEWAY_UPSTREAM_URL', 'paperless 8000', /must be an absolute URL/],
      ['GATEWAY_PORT', '0', /between 1 and 65535/],
      ['GATEWAY_UPSTREAM_MAX_PER_CLIENT', '12.5', /whole number/],
      ['GATEWAY_UPSTREAM_TIMEOUT', '0s', /positive duration/],
      ['GATEWAY_REMEMBER_ME_DURATION', '30s', /must be off or a duration/],
      ['GATEWAY_SYNC_INTERVAL', 'hourly', /must be off or a duration/],
      ['GATEWAY_LDAP_STARTTLS', 'maybe', /must be true or false \(also yes\/no, on\/off, 1\/0, in any case\) \(got "maybe"\)/],
      ['GATEWAY_LDAP_NESTED_GROUPS', 'sometimes', /must be true or false/],
      ['GATEWAY_PROVISIONING', 'auto', /must be true or false/],
      ['GATEWAY_LANGUAGE', 'klingon', /must be auto or one of/],
      ['GATEWAY_MFA', 'always', /must be off, optional or required|must be one of|off/],
      ['GATEWAY_LDAP_GROUP_MODE', 'nested', /memberof or search/],
      ['GATEWAY_TRUST_PROXY', 'bogus', /not "bogus"/],
      ['GATEWAY_TRUST_PROXY', '10.0.0.0/33', /not "10\.0\.0\.0\/33"/],
      ['GATEWAY_TRUST_PROXY', 'loopback, fd00::/129', /not "fd00::\/129"/],
      ['GATEWAY_TRUST_PROXY', 'on', /would trust every client/],
      ['GATEWAY_BRAND_ACCENT', '#ffff00', /too light/],
      ['GATEWAY_BRAND_ACCENT', 'green', /#rrggbb/],
      ['GATEWAY_BRAND_FOOTER', 'x'.repeat(201), /at most 200 characters/],
      ['GATEWAY_BRAND_TITLE', 'x'.repeat(61), /at most 60 characters/],
      ['GATEWAY_BRAND_LOGO', '/config/logo.txt', /must be an image file/],
      ['GATEWAY_SESSION_COOKIE_NAME', 'my cookie', /valid cookie name/],
      ['GATEWAY_LDAP_USERNAME_ATTRIBUTE', '1uid', /LDAP attribute name/],
      ['GATEWAY_MFA_KEY', 'passphrase', /32 random bytes/],
      ['GATEWAY_LDAP_TLS_MIN_VERSION', 'TLSv1.1', /TLSv1\.2 or/],
      ['GATEWAY_LDAP_CA_FILE', join(dir, 'missing.pem'), /cannot read .*missing\.pem: no such file \(ENOENT\)/],
      ['GATEWAY_LDAP_CA_FILE', join(dir, 'not-a-cert.pem'), /holds no PEM certificate/],
    ];
    for (const [name, value, pattern] of cases) {
      assert.match(problems({ ...valid(), [name]: value }).get(name) ?? `${name}=${value} was accepted`, pattern, `${name}=${value}`);
    }
  });

  it('every on/off setting takes the same spellings, in any case', () => {
    for (const [value, expected] of [['true', true], ['TRUE', true], ['On', true], ['yes', true], ['1', true], ['false', false], ['OFF', false], ['No', false], ['0', false]] as const) {
      const config = loadConfig({ ...valid(), GATEWAY_LDAP_STARTTLS: value, GATEWAY_PROVISIONING: value, GATEWAY_LOG_REQUESTS: value });
      assert.equal(config.ldap.startTls, expected, `GATEWAY_LDAP_STARTTLS=${value}`);
      assert.equal(config.provisioning.enabled, expected, `GATEWAY_PROVISIONING=${value}`);
      assert.equal(config.log.requests, expected, `GATEWAY_LOG_REQUESTS=${value}`);
    }
    const env = { ...valid(), GATEWAY_PROVISIONING: 'No' };
    delete (env as Record<string, string | undefined>).GATEWAY_PAPERLESS_TOKEN;
    assert.equal(loadConfig(env).provisioning.enabled, false, 'no token needed when provisioning is off, however spelled');
  });

  it('serve and check-config stop with exit 2 on a bad trust-proxy list or a missing CA file, naming the variable', async () => {
    for (const [command, name, value, pattern] of [
      ['serve', 'GATEWAY_TRUST_PROXY', 'bogus', /GATEWAY_TRUST_PROXY: must be false, a hop count, or addresses/],
      ['check-config', 'GATEWAY_TRUST_PROXY', '10.0.0.0/33', /GATEWAY_TRUST_PROXY: .*not "10\.0\.0\.0\/33"/],
      ['serve', 'GATEWAY_LDAP_CA_FILE', '/nonexistent/ca.pem', /GATEWAY_LDAP_CA_FILE: cannot read \/nonexistent\/ca\.pem: no such file \(ENOENT\)/],
    ] as const) {
      const { code, stderr, stdout } = await runCliToEnd([command], { ...valid(), [name]: value }, COMPILED_LAUNCH);
      assert.equal(code, 2, `${command} with ${name}=${value}: ${stdout}${stderr}`);
      assert.match(stderr, pattern);
      assert.doesNotMatch(stdout, /every setting is valid/);
    }
  });

  it('refuses a public URL with a path and a lifetime shorter than the idle timeout', () => {
    const p = problems({ ...valid(), GATEWAY_PUBLIC_URL: 'https://example.com/paperless', GATEWAY_SESSION_IDLE_TIMEOUT: '2h', GATEWAY_SESSION_MAX_LIFETIME: '1h' });
    assert.match(p.get('GATEWAY_PUBLIC_URL') ?? '', /without a path/);
    assert.match(p.get('GATEWAY_SESSION_MAX_LIFETIME') ?? '', /not be shorter/);
  });

  it('reads secrets from *_FILE, and refuses both forms at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-secrets-'));
    writeFileSync(join(dir, 'secret'), 'x'.repeat(40) + '\n');
    writeFileSync(join(dir, 'bind'), 'from-file\n');
    const env = { ...valid(), GATEWAY_SESSION_SECRET_FILE: join(dir, 'secret'), GATEWAY_LDAP_BIND_PASSWORD_FILE: join(dir, 'bind') };
    delete (env as Record<string, string | undefined>).GATEWAY_SESSION_SECRET;
    delete (env as Record<string, string | undefined>).GATEWAY_LDAP_BIND_PASSWORD;
    const config = loadConfig(env);
    assert.equal(config.session.secret, 'x'.repeat(40));
    assert.equal(config.ldap.bindPassword, 'from-file');
    const both = problems({ ...valid(), GATEWAY_LDAP_BIND_PASSWORD_FILE: join(dir, 'bind') });
    assert.match(both.get('GATEWAY_LDAP_BIND_PASSWORD_FILE') ?? '', /keep only one/);
    const missing = problems({ ...valid(), GATEWAY_SESSION_SECRET: '', GATEWAY_SESSION_SECRET_FILE: join(dir, 'nope') });
    assert.match(missing.get('GATEWAY_SESSION_SECRET_FILE') ?? '', /cannot read .*ENOENT/);
  });

  it('reads the files settings name through the reader it is given, never the disk directly', () => {
    const contents: Record<string, string> = {
      '/run/secrets/session': `${'s'.repeat(40)}\n`,
      '/etc/gateway/mapping.yaml': 'groups:\n  - ldap: Accounting\n    permissions: [view_document]\n',
    };
    const asked: string[] = [];
    const files = {
      read: (path: string) => {
        asked.push(path);
        const text = contents[path];
        if (text === undefined) throw Object.assign(new Error(`no ${path}`), { code: 'ENOENT' });
        return text;
      },
      size: (path: string) => {
        asked.push(path);
        if (path === '/srv/huge.png') return 2 * 1024 * 1024;
        throw Object.assign(new Error(`no ${path}`), { code: 'ENOENT' });
      },
    };
    const env: Record<string, string> = { ...valid(), GATEWAY_SESSION_SECRET_FILE: '/run/secrets/session', GATEWAY_PROVISIONING_FILE: '/etc/gateway/mapping.yaml' };
    delete env.GATEWAY_SESSION_SECRET;
    const config = loadConfig(env, files);
    assert.equal(config.session.secret, 's'.repeat(40));
    assert.deepEqual(config.provisioning.mapping.groups.map((g) => g.ldap), ['Accounting']);
    assert.deepEqual(asked, ['/run/secrets/session', '/etc/gateway/mapping.yaml']);
    // None of these paths exist on disk: the reader's answers are the only ones that count.
    let refused: ConfigError | undefined;
    try {
      loadConfig({ ...valid(), GATEWAY_BRAND_LOGO: '/srv/huge.png', GATEWAY_LDAP_BIND_PASSWORD_FILE: '/run/secrets/bind', GATEWAY_LDAP_BIND_PASSWORD: '' }, files);
    } catch (err) {
      if (err instanceof ConfigError) refused = err;
    }
    const byVariable = new Map(refused?.problems.map((p) => [p.variable, p.message]));
    assert.match(byVariable.get('GATEWAY_BRAND_LOGO') ?? '', /2048 KiB; a logo may be 1 MiB at most/);
    assert.match(byVariable.get('GATEWAY_LDAP_BIND_PASSWORD_FILE') ?? '', /cannot read \/run\/secrets\/bind: no such file \(ENOENT\)/);
  });

  it('parses the allowed-groups list (names, one DN, several DNs) and trust-proxy forms', () => {
    const groups = (v: string) => loadConfig({ ...valid(), GATEWAY_LDAP_ALLOWED_GROUPS: v }).ldap.allowedGroups;
    assert.deepEqual(groups('paperless, admins'), ['paperless', 'admins']);
    assert.deepEqual(groups('cn=paperless,ou=groups,dc=example,dc=com'), ['cn=paperless,ou=groups,dc=example,dc=com']);
    assert.deepEqual(groups('cn=a,dc=x; cn=b,dc=x'), ['cn=a,dc=x', 'cn=b,dc=x']);
    assert.equal(loadConfig({ ...valid(), GATEWAY_TRUST_PROXY: '1' }).server.trustProxy, 1);
    assert.deepEqual(loadConfig({ ...valid(), GATEWAY_TRUST_PROXY: '10.0.0.0/8, loopback' }).server.trustProxy, ['10.0.0.0/8', 'loopback']);
    assert.equal(loadConfig({ ...valid(), GATEWAY_PUBLIC_URL: 'https://paperless.example.com' }).session.secureCookie, true);
  });
});

describe('provisioning mapping file', () => {
  const write = (name: string, text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-map-'));
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('always grants the UI permissions, and expands shorthands for the Paperless line', () => {
    const file = write('m.yaml', 'permissions: [view_document]\ngroups:\n  - ldap: cn=Admins\\, HQ,ou=groups,dc=x\n    superuser: true\n  - ldap: editors\n    permissions: [editor]\n');
    const { mapping } = loadConfig({ ...valid(), GATEWAY_PROVISIONING_FILE: file }).provisioning;
    assert.deepEqual(mapping.permissions, ['add_uisettings', 'change_uisettings', 'view_document', 'view_uisettings']);
    assert.equal(mapping.groups[0]?.paperless, 'Admins, HQ');
    assert.equal(mapping.groups[0]?.staff, true);
    assert.deepEqual(mapping.groups[1]?.permissions, ['editor'], 'a shorthand waits for the line');
    assert.ok(mappingForLine(mapping, 2, '2.20.15').groups[1]?.permissions.includes('delete_document'));
    assert.equal(mapping.groups[1]?.paperless, 'editors');
  });

  it('accepts JSON as well', () => {
    const file = write('m.json', JSON.stringify({ mirror_unmapped_groups: true, groups: [{ ldap: 'a', paperless: 'A', permissions: ['viewer'] }] }));
    assert.equal(loadConfig({ ...valid(), GATEWAY_PROVISIONING_FILE: file }).provisioning.mapping.mirrorUnmappedGroups, true);
  });

  it('names every problem with its place in the file', () => {
    const bad = problems({ ...valid(), GATEWAY_PROVISIONING_FILE: write('m.yaml', 'groups:\n  - ldap: a\n    permissions: [fly_document, viewer]\n    colour: red\n') });
    assert.match(bad.get('GATEWAY_PROVISIONING_FILE') ?? '', /groups\.0.*colour/);
    const unknown = problems({ ...valid(), GATEWAY_PROVISIONING_FILE: write('m.yaml', 'groups:\n  - ldap: a\n    permissions: [fly_document]\n') });
    assert.match(unknown.get('GATEWAY_PROVISIONING_FILE') ?? '', /groups\.0\.permissions: unknown permission "fly_document"/);
    const yaml = problems({ ...valid(), GATEWAY_PROVISIONING_FILE: write('m.yaml', 'groups: [\n') });
    assert.match(yaml.get('GATEWAY_PROVISIONING_FILE') ?? '', /not valid YAML/);
    const missing = problems({ ...valid(), GATEWAY_PROVISIONING_FILE: '/nonexistent/m.yaml' });
    assert.match(missing.get('GATEWAY_PROVISIONING_FILE') ?? '', /cannot read .*ENOENT/);
  });

  it('needs a token unless provisioning is off', () => {
    const env = { ...valid() };
    delete (env as Record<string, string | undefined>).GATEWAY_PAPERLESS_TOKEN;
    assert.match(problems(env).get('GATEWAY_PAPERLESS_TOKEN') ?? '', /required while GATEWAY_PROVISIONING is on/);
    assert.equal(loadConfig({ ...env, GATEWAY_PROVISIONING: 'off' }).provisioning.enabled, false);
  });
});

describe("README's settings tables", () => {
  it('document every setting the gateway reads, with a default and an example', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const rows = new Map([...readme.matchAll(/^\| `(GATEWAY_[A-Z0-9_]+)` \|([^|]*)\|([^|]*)\|/gm)].map((m) => [m[1] as string, { fallback: (m[2] ?? '').trim(), example: (m[3] ?? '').trim() }]));
    const missing = Object.keys(envSchema.shape).filter((name) => !rows.has(name));
    assert.deepEqual(missing, [], 'settings without a row in README');
    for (const name of Object.keys(envSchema.shape)) {
      const row = rows.get(name);
      assert.ok(row?.fallback && row.example, `${name}: README's row needs a default and an example`);
    }
  });
});
