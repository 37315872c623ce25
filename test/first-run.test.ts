/**
 * The first run, as README's compose quick start walks it: `init` writes the .env, compose hands
 * every setting to the gateway, and the one-shot paperless-bootstrap service gives the gateway
 * its Paperless superuser with exactly the token init wrote (run here on the Django upstream).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { fileURLToPath } from 'node:url';
import { initCommand, makeFolder, proxyRanges, type InitIo } from '../src/cli/init.js';
import { InitDirectoryCheckError } from '../src/cli/init-errors.js';
import { renderMappingFile } from '../src/cli/mapping-file.js';
import { parseMapping } from '../src/config/mapping.js';
import { CommandUsageError } from '../src/cli/usage-error.js';
import { HTTPS_PROXY_ADDRESS, readEnvValue, SERVICE_ACCOUNT } from '../src/cli/env-file.js';
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
  '--admin-group': 'paperless-admins',
  '--user-group': 'Accounting, Tax',
  '--tls-front': '10.0.0.5',
};
/** The directory of these answers is not reachable from here (first-deployment.test.ts tries a real one). */
const NO_CHECK = '--no-check';


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
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('init writes a complete .env with fresh secrets, private, and never overwrites it', async () => {
    const envFile = join(dir, '.env');
    const res = await runToEnd(['init', '--output', envFile, ...Object.entries(ANSWERS).flat(), NO_CHECK]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Wrote .*\.env, .*provisioning\.yaml, and made the folders consume and export\./);
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    const text = readFileSync(envFile, 'utf8');
    for (const [name, pattern] of [
      ['GATEWAY_SESSION_SECRET', /^[0-9a-f]{64}$/],
      ['GATEWAY_PAPERLESS_TOKEN', /^[0-9a-f]{40}$/],
      ['PAPERLESS_SECRET_KEY', /^[0-9a-f]{64}$/],
    ] as const) {
      assert.match(new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1] ?? '', pattern, name);
    }
    const mapping = readFileSync(join(dir, 'provisioning.yaml'), 'utf8');
    const again = await runToEnd(['init', '--output', envFile, ...Object.entries(ANSWERS).flat(), NO_CHECK]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists; init never overwrites it/);
    assert.equal(readFileSync(envFile, 'utf8'), text, 'untouched');
    assert.equal(readFileSync(join(dir, 'provisioning.yaml'), 'utf8'), mapping, 'untouched');
    const other = await runToEnd(['init', '--output', '-', ...Object.entries(ANSWERS).flat(), NO_CHECK]);
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
      writeFileSync(join(full, 'provisioning.yaml'), readFileSync(join(dir, 'provisioning.yaml')));
      const base = readFileSync(join(dir, '.env'), 'utf8');
      // Compose reads these itself (an address, a port, a path), so they get values it can use.
      const usable: Record<string, string> = {
        GATEWAY_PUBLISH_ADDRESS: '127.0.0.1',
        GATEWAY_PUBLISH_PORT: '8081',
        GATEWAY_PROVISIONING_HOST_FILE: './provisioning.yaml',
        GATEWAY_FRONT_SUBNET: '172.30.252.0/24',
        GATEWAY_FRONT_IP_RANGE: '172.30.252.0/25',
        GATEWAY_HTTPS_PROXY_ADDRESS: '172.30.252.250',
      };
      const value = (n: string) => usable[n] ?? `value-of-${n}`;
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

});

/** A terminal that answers from a script, keeping what it was asked and told. */
function scriptedTerminal(reply: (prompt: string) => string): InitIo & { asked: Array<[string, boolean]>; told: string[] } {
  const asked: Array<[string, boolean]> = [];
  const told: string[] = [];
  return {
    interactive: true,
    asked,
    told,
    ask: async (prompt, { silent }) => {
      asked.push([prompt.split(/ \(|:/)[0] as string, silent]);
      return reply(prompt);
    },
    say: (text) => told.push(text),
  };
}

/** One setting's value in a written .env, as the readers read it back (env-file.test.ts holds them equal). */
function valueIn(text: string, name: string): string | undefined {
  const written = new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1];
  return written === undefined ? undefined : readEnvValue(written);
}

const NO_TERMINAL: InitIo = { interactive: false, ask: async () => '', say: () => undefined };
const HOST = { timeZone: 'Europe/Vienna', uid: 1234, gid: 5678 };
const line = (values: Record<string, string | boolean>) => ({ values, positionals: [] });
/** Every answer as options, to stdout and without trying the directory. */
const OPTIONS = { output: '-', 'no-check': true, ...Object.fromEntries(Object.entries(ANSWERS).map(([k, v]) => [k.slice(2), v])) };

describe('init: questions, options and refusals', () => {
  it('asks only for what was not given, the password without echo, and the CA only for ldaps://', async () => {
    const terminal = scriptedTerminal((prompt) => {
      if (prompt.startsWith('Service account password')) return 'typed-secret';
      if (prompt.startsWith('Directory group whose members administer')) return 'paperless-admins';
      if (prompt.startsWith('Directory group whose members may sign in')) return 'paperless-users';
      if (prompt.startsWith('What serves HTTPS')) return 'caddy';
      if (prompt.startsWith('Service account DN')) return 'cn=typed,dc=example,dc=com';
      return ''; // the default
    });
    const text = await initCommand(line({ output: '-', 'no-check': true, 'public-url': 'https://paperless.example.com', 'ldap-url': 'ldap://dc1.example.com', 'user-base': 'ou=people,dc=example,dc=com' }), terminal, HOST);
    assert.deepEqual(terminal.asked, [
      ['Directory kind', false],
      ['Service account DN', false],
      ['Service account password', true],
      ['Directory group whose members administer Paperless', false],
      ['Directory group whose members may sign in and use Paperless', false],
      ['What the user group may do', false],
      ['What serves HTTPS in front', false],
      ["Caddy's certificate", false],
    ]);
    assert.match(text, /^GATEWAY_LDAP_PRESET=openldap$/m, 'the default kind');
    assert.match(text, /^GATEWAY_LDAP_BIND_PASSWORD=typed-secret$/m);
    assert.equal(valueIn(text, 'GATEWAY_LDAP_ALLOWED_GROUPS'), 'paperless-admins;paperless-users');
    assert.match(text, /^COMPOSE_PROFILES=postgres,https$/m);
    assert.match(text, /^GATEWAY_HTTPS_CERTIFICATE=auto$/m);
    assert.equal(valueIn(text, 'GATEWAY_TRUST_PROXY'), HTTPS_PROXY_ADDRESS, "Caddy's address (first-deployment.test.ts holds it equal to compose's)");
    assert.match(text, /^GATEWAY_PUBLISH_ADDRESS=127\.0\.0\.1$/m);
    assert.match(text, /^GATEWAY_PUBLISH_PORT=8080$/m);
    assert.doesNotMatch(text, /GATEWAY_LDAP_CA_FILE/, 'no CA asked for ldap:// (StartTLS is set by hand)');
    assert.match(terminal.told.join('\n'), /provisioning\.yaml was not written/);

    const ldaps = scriptedTerminal(() => '');
    await initCommand(line({ ...OPTIONS, preset: 'openldap', 'user-permissions': 'viewer' }), ldaps, HOST);
    assert.deepEqual(ldaps.asked, [["The directory's CA certificate, a PEM file", false]], 'ldaps://: the CA is asked, and may be left empty');
  });

  it('asks again, with the reason, while an answer is refused', async () => {
    const replies: Record<string, string[]> = { 'What the user group may do': ['editors', 'editor'], 'What serves HTTPS in front': ['true', '10.0.0.0/8'] };
    const terminal = scriptedTerminal((prompt) => Object.entries(replies).find(([start]) => prompt.startsWith(start))?.[1].shift() ?? '');
    const rest = Object.fromEntries(Object.entries(OPTIONS).filter(([k]) => k !== 'tls-front'));
    const text = await initCommand(line(rest), terminal, HOST);
    assert.deepEqual(terminal.told.slice(0, 2), ['must be viewer or editor, not "editors"; try again.', `must be caddy (compose's https profile), none (plain HTTP), or your reverse proxy's address or CIDR (e.g. 10.0.0.5 or 10.0.0.0/24), not "true"; try again.`]);
    assert.match(text, /^GATEWAY_TRUST_PROXY=10\.0\.0\.0\/8$/m);
    assert.equal(valueIn(text, 'GATEWAY_LDAP_ALLOWED_GROUPS'), 'paperless-admins;Accounting, Tax');
  });

  it('gives up after five refused or empty answers, saying why', async () => {
    const terminal = scriptedTerminal((prompt) => (prompt.startsWith('Directory kind') ? 'novell' : ''));
    await assert.rejects(initCommand(line({ ...OPTIONS, preset: '' }), terminal, HOST), /init: nothing written: --preset: must be openldap or activedirectory or freeipa or lldap or custom, not "novell"/);
    assert.equal(terminal.asked.filter(([p]) => p === 'Directory kind').length, 5);
    const silent = scriptedTerminal(() => '');
    await assert.rejects(initCommand(line({ ...OPTIONS, 'tls-front': '' }), silent, HOST), /init: nothing written: --tls-front: no answer/);
  });

  it('without a terminal, names every value it needs', async () => {
    await assert.rejects(
      initCommand(line({ output: '-' }), NO_TERMINAL, HOST),
      /no terminal to ask on; give --public-url, --ldap-url, --bind-dn, --bind-password, --user-base, --admin-group, --user-group, --tls-front$/,
    );
  });

  it('refuses each wrong option by name, before writing anything', async () => {
    const refused: Array<[Record<string, string>, RegExp]> = [
      [{ 'user-permissions': 'admin' }, /--user-permissions: must be viewer or editor, not "admin"/],
      [{ 'tls-front': 'true' }, /--tls-front: must be caddy .* not "true"/],
      [{ 'tls-front': '2' }, /--tls-front: must be caddy/],
      [{ 'tls-front': 'proxy.example.com' }, /--tls-front: must be caddy/],
      [{ 'tls-front': 'none', certificate: 'internal' }, /--certificate: is for --tls-front caddy only/],
      [{ 'tls-front': 'caddy', certificate: 'letsencrypt' }, /--certificate: must be auto or internal or files/],
      [{ publish: '8080' }, /--publish: must be ADDRESS:PORT/],
      [{ publish: '0.0.0.0:70000' }, /--publish: must be ADDRESS:PORT/],
      [{ publish: '300.1.1.1:8080' }, /--publish: must be ADDRESS:PORT/],
      [{ database: 'mysql' }, /--database: must be postgres or sqlite, not "mysql"/],
      [{ preset: 'novell' }, /--preset: must be openldap or activedirectory/],
      [{ 'ca-file': '/nonexistent/ca.pem' }, /--ca-file: cannot read \/nonexistent\/ca\.pem: no such file \(ENOENT\)/],
      [{ 'ca-file': fileURLToPath(import.meta.url) }, /--ca-file: .* holds no PEM certificate/],
      [{ 'admin-group': 'a;b' }, /--admin-group: a group name cannot hold ";"/],
      [{ 'user-group': 'PAPERLESS-ADMINS' }, /--user-group: is the admin group too/],
    ];
    for (const [options, reason] of refused) {
      await assert.rejects(initCommand(line({ ...OPTIONS, ...options }), NO_TERMINAL, HOST), (err: unknown) => {
        assert.ok(err instanceof CommandUsageError, JSON.stringify(options));
        assert.match(err.message, /^init: nothing written/);
        assert.match(err.message, reason);
        return true;
      });
    }
    await assert.rejects(
      initCommand(line({ ...OPTIONS, 'public-url': 'not a url' }), NO_TERMINAL, HOST),
      /nothing written[\s\S]*GATEWAY_PUBLIC_URL: must be an absolute URL/,
    );
  });

  it('writes Paperless settings from this host and the chosen database, and a mapping the gateway loads', async () => {
    const text = await initCommand(line({ ...OPTIONS, database: 'sqlite', publish: '[::1]:8443', 'user-permissions': 'editor' }), NO_TERMINAL, HOST);
    const expected = {
      COMPOSE_PROFILES: '',
      PAPERLESS_DBHOST: '',
      PAPERLESS_TIME_ZONE: 'Europe/Vienna',
      PAPERLESS_OCR_LANGUAGE: 'eng',
      USERMAP_UID: '1234',
      USERMAP_GID: '5678',
      GATEWAY_PUBLISH_ADDRESS: '[::1]',
      GATEWAY_PUBLISH_PORT: '8443',
      GATEWAY_TRUST_PROXY: '10.0.0.5',
    };
    for (const [name, value] of Object.entries(expected)) assert.equal(valueIn(text, name), value, name);
    const mapping = parseMapping(renderMappingFile({ adminGroup: 'cn=Admins\\, IT,ou=groups,dc=example,dc=com', userGroup: 'Accounting, "Tax"', userPermissions: 'editor' }), 'provisioning.yaml');
    assert.deepEqual(mapping.permissions, ['add_uisettings', 'change_uisettings', 'view_uisettings'], 'nobody gets anything beyond the UI directly');
    assert.deepEqual(
      mapping.groups.map((g) => [g.ldap, g.paperless, g.permissions, g.superuser]),
      [
        ['cn=Admins\\, IT,ou=groups,dc=example,dc=com', 'Admins, IT', ['all'], true],
        ['Accounting, "Tax"', 'Accounting, "Tax"', ['editor'], false],
      ],
    );
  });

  it('warns when the public URL is https and nothing in front serves it', async () => {
    const terminal = scriptedTerminal(() => '');
    await initCommand(line({ ...OPTIONS, 'tls-front': 'none' }), terminal, HOST);
    assert.match(terminal.told.join('\n'), /warning: the public URL is https, but nothing in front serves HTTPS \(--tls-front none\)/);
    const quiet = scriptedTerminal(() => '');
    await initCommand(line({ ...OPTIONS, 'tls-front': 'none', 'public-url': 'http://paperless.internal:8080' }), quiet, HOST);
    assert.doesNotMatch(quiet.told.join('\n'), /warning/);
  });

  it('tries the directory unless --no-check: one that does not answer stops it, and nothing is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plg-init-check-'));
    try {
      const unreachable = { ...Object.fromEntries(Object.entries(OPTIONS).filter(([k]) => k !== 'no-check')), output: join(dir, '.env'), 'ldap-url': 'ldap://127.0.0.1:1' };
      await assert.rejects(initCommand(line(unreachable), NO_TERMINAL, HOST), (err: unknown) => {
        assert.ok(err instanceof InitDirectoryCheckError);
        assert.match(err.message, /FAIL service account and search bases: /);
        assert.match(err.message, /--no-check skips this/);
        return true;
      });
      assert.deepEqual(readdirSync(dir), []);
      assert.match(await initCommand(line({ ...unreachable, 'no-check': true }), NO_TERMINAL, HOST), /^Wrote /);
      assert.deepEqual(readdirSync(dir).sort(), ['.env', 'consume', 'export', 'provisioning.yaml'], "and Paperless's folders, the user's own");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("init's folders, made safely whoever runs it (CI runs as root; each test asserts what holds either way)", () => {
  const root = process.geteuid?.() === 0;
  const me = { uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1 };
  /** Who Paperless's folders belong to: run as root, the USERMAP user (HOST); else whoever ran init. */
  const paperless = root ? { uid: HOST.uid, gid: HOST.gid } : me;
  let base: string;
  let ca: string;
  before(() => {
    base = mkdtempSync(join(tmpdir(), 'plg-init-folders-'));
    ca = join(base, 'ca.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Test CA', '-keyout', join(base, 'ca.key'), '-out', ca], { stdio: 'ignore' });
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  /** A fresh output folder (0700, as mkdtemp makes it) and init's options to write there. */
  const fresh = (name: string, extra: Record<string, string | boolean> = {}) => {
    const dir = join(base, name);
    mkdirSync(dir, { mode: 0o700 });
    return { dir, options: { ...OPTIONS, output: join(dir, '.env'), ...extra } };
  };
  const owner = (path: string) => ({ uid: statSync(path).uid, gid: statSync(path).gid });
  const mode = (path: string) => lstatSync(path).mode & 0o7777;

  it('consume and export are 0750, whatever the umask, and only the USERMAP user gets them (run as root); certs is 0755', async () => {
    const { dir, options } = fresh('modes', { 'ca-file': ca, 'ldap-url': 'ldaps://dc1.example.com' });
    const umask = process.umask(0);
    try {
      assert.match(await initCommand(line(options), NO_TERMINAL, HOST), /made the folders consume and export\./);
    } finally {
      process.umask(umask);
    }
    for (const name of ['consume', 'export']) {
      assert.equal(mode(join(dir, name)), 0o750, `${name}: exports hold every document`);
      assert.deepEqual(owner(join(dir, name)), paperless, name);
    }
    assert.equal(mode(join(dir, 'certs')), 0o755);
    assert.deepEqual(owner(join(dir, 'certs')), me, 'the CA folder stays with whoever ran init');
    assert.equal(readFileSync(join(dir, 'certs/ldap-ca.pem'), 'utf8'), readFileSync(ca, 'utf8'));
  });

  it('with --certificate files: an https folder for Caddy\'s key, 0700, kept by whoever ran init, and the message names it', async () => {
    const { dir, options } = fresh('https-files', { 'tls-front': 'caddy', certificate: 'files' });
    const said = await initCommand(line(options), NO_TERMINAL, HOST);
    assert.match(said, /made the folders consume, export and https\. Next, beside them: put your certificate \(with its chain\) and key in https\/https\.crt and https\/https\.key \(only Caddy mounts that folder\), then docker compose up -d/);
    assert.equal(mode(join(dir, 'https')), 0o700);
    assert.deepEqual(owner(join(dir, 'https')), me);
    assert.ok(!existsSync(join(dir, 'certs')), 'no certs folder without a CA: the key never goes there');
    const { dir: other, options: internal } = fresh('https-internal', { 'tls-front': 'caddy', certificate: 'internal' });
    assert.doesNotMatch(await initCommand(line(internal), NO_TERMINAL, HOST), /https\//);
    assert.ok(!existsSync(join(other, 'https')));
  });

  it('a certs that is a symbolic link (or a file) is refused before anything is written; nothing lands where it points', async () => {
    const { dir, options } = fresh('certs-link', { 'ca-file': ca, 'ldap-url': 'ldaps://dc1.example.com' });
    const elsewhere = join(base, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(dir, 'certs'));
    await assert.rejects(initCommand(line(options), NO_TERMINAL, HOST), /init: .*certs is a symbolic link; init writes ldap-ca\.pem only into a plain folder there, and wrote nothing/);
    assert.deepEqual(readdirSync(elsewhere), []);
    assert.deepEqual(readdirSync(dir), ['certs']);
    const { dir: filed, options: second } = fresh('certs-file', { 'ca-file': ca, 'ldap-url': 'ldaps://dc1.example.com' });
    writeFileSync(join(filed, 'certs'), '');
    await assert.rejects(initCommand(line(second), NO_TERMINAL, HOST), /certs is not a folder; .*wrote nothing/);
    assert.deepEqual(readdirSync(filed), ['certs']);
  });

  it('a consume (or export) that is a symbolic link is left as it is: never followed, chmodded or given away', async () => {
    const { dir, options } = fresh('consume-link');
    const target = join(base, 'precious');
    mkdirSync(target, { mode: 0o700 });
    chmodSync(target, 0o700);
    symlinkSync(target, join(dir, 'consume'));
    // A dangling one too: there is something by that name, so init makes nothing there.
    symlinkSync(join(base, 'nowhere'), join(dir, 'export'));
    assert.match(await initCommand(line(options), NO_TERMINAL, HOST), /^Wrote /);
    assert.ok(lstatSync(join(dir, 'consume')).isSymbolicLink());
    assert.ok(lstatSync(join(dir, 'export')).isSymbolicLink());
    assert.equal(mode(target), 0o700);
    assert.deepEqual(owner(target), me, 'not handed to the USERMAP user');
    assert.ok(!existsSync(join(base, 'nowhere')));
  });

  it('a folder swapped for a link (or another folder) between making it and handing it over is refused, and its target untouched', () => {
    const target = join(base, 'swap-target');
    mkdirSync(target, { mode: 0o700 });
    chmodSync(target, 0o700);
    for (const step of ['made', 'checked'] as const) {
      for (const swapIn of ['link', 'folder'] as const) {
        const path = join(base, `swapped-${step}-${swapIn}`);
        assert.throws(
          () =>
            makeFolder(path, 0o750, HOST, (now) => {
              if (now !== step) return;
              // What a local user with write access to the output folder does (rename, or renameat2 RENAME_EXCHANGE).
              renameSync(path, `${path}.moved`);
              if (swapIn === 'link') symlinkSync(target, path);
              // Another folder, not empty: a dir whose contents would then be handed over.
              else mkdirSync(join(path, 'planted'), { recursive: true });
            }),
          /was replaced after init made it|ELOOP|ENOTDIR/,
          `${swapIn} swapped in after ${step}`,
        );
        assert.equal(mode(target), 0o700);
        assert.deepEqual(owner(target), me);
        assert.equal(mode(`${path}.moved`) & 0o777, 0o700, 'the folder init made was never opened up');
      }
    }
  });

  it('run as root, an output folder others may write is refused with a reason; as anyone else it is theirs to decide', async () => {
    const { dir, options } = fresh('open-folder');
    chmodSync(dir, 0o777);
    if (root) {
      await assert.rejects(initCommand(line(options), NO_TERMINAL, HOST), /init: .*open-folder may be written by others \(mode 0777\); run as root, init writes nothing there/);
      assert.deepEqual(readdirSync(dir), []);
      chmodSync(dir, 0o1777);
      await assert.rejects(initCommand(line(options), NO_TERMINAL, HOST), /may be written by others \(mode 1777\)/, 'sticky too: anyone could plant export first');
      // Group-writable: refused unless the group is root's (its members could be root anyway).
      chmodSync(dir, 0o775);
      chownSync(dir, 0, 1234);
      await assert.rejects(initCommand(line(options), NO_TERMINAL, HOST), /may be written by others \(mode 0775\)/);
      chownSync(dir, 0, 0);
      assert.match(await initCommand(line(options), NO_TERMINAL, HOST), /^Wrote /);
    } else {
      assert.match(await initCommand(line(options), NO_TERMINAL, HOST), /^Wrote /);
    }
  });
});

describe('init: what it says about the front', () => {
  it('names the ranges in a proxy list, and nothing for single addresses', () => {
    assert.deepEqual(proxyRanges('10.0.0.5'), []);
    assert.deepEqual(proxyRanges('10.0.0.5/32, ::1/128, 2001:db8::1'), []);
    assert.deepEqual(proxyRanges('172.16.0.0/12'), ['172.16.0.0/12']);
    assert.deepEqual(proxyRanges('10.0.0.5, 10.0.1.0/24, uniquelocal, fd00::/8'), ['10.0.1.0/24', 'uniquelocal', 'fd00::/8']);
  });

  it('a proxy range is accepted with a warning naming the risk; a single address without one', async () => {
    for (const range of ['172.16.0.0/12', 'uniquelocal', '10.0.0.5, 10.0.1.0/24']) {
      const terminal = scriptedTerminal(() => '');
      const text = await initCommand(line({ ...OPTIONS, 'tls-front': range }), terminal, HOST);
      assert.equal(valueIn(text, 'GATEWAY_TRUST_PROXY'), range, 'still written: an admin may need a range');
      assert.match(terminal.told.join('\n'), /init: warning: --tls-front .* is a range, not one address: anyone in it who reaches the gateway's published port directly can set X-Forwarded-For/);
    }
    for (const single of ['10.0.0.5', '10.0.0.5/32', '2001:db8::5/128']) {
      const terminal = scriptedTerminal(() => '');
      await initCommand(line({ ...OPTIONS, 'tls-front': single }), terminal, HOST);
      assert.doesNotMatch(terminal.told.join('\n'), /is a range/, single);
    }
  });

  it('with a proxy and no --publish, says to publish the gateway only where the proxy reaches it', async () => {
    const terminal = scriptedTerminal(() => '');
    await initCommand(line({ ...OPTIONS, 'tls-front': '10.0.0.5' }), terminal, HOST);
    assert.match(terminal.told.join('\n'), /init: note: the gateway is published on 0\.0\.0\.0:8080; publish it only where your proxy reaches it/);
    const published = scriptedTerminal(() => '');
    await initCommand(line({ ...OPTIONS, 'tls-front': '10.0.0.5', publish: '10.0.0.9:8080' }), published, HOST);
    assert.doesNotMatch(published.told.join('\n'), /note: the gateway is published/);
    const caddy = scriptedTerminal(() => '');
    await initCommand(line({ ...OPTIONS, 'tls-front': 'caddy' }), caddy, HOST);
    assert.doesNotMatch(caddy.told.join('\n'), /note: the gateway is published|is a range/, 'Caddy: published on 127.0.0.1, trusted at one address');
  });

  it('refuses --tls-front caddy with an http:// public URL: Caddy serves https', async () => {
    await assert.rejects(
      initCommand(line({ ...OPTIONS, 'tls-front': 'caddy', 'public-url': 'http://paperless.example.com' }), NO_TERMINAL, HOST),
      (err: Error) => assert.match(err.message, /^init: nothing written:\n {2}--tls-front: is caddy, which serves https: the public URL must start with https:\/\/, not "http:\/\/paperless\.example\.com" \(or use --tls-front none for plain HTTP\)$/) === undefined,
    );
    const asked = scriptedTerminal((prompt) => (prompt.startsWith('What serves HTTPS') ? ['caddy', 'none'][asked.asked.filter(([p]) => p === 'What serves HTTPS in front').length - 1] ?? '' : ''));
    const rest = Object.fromEntries(Object.entries(OPTIONS).filter(([k]) => k !== 'tls-front'));
    await initCommand(line({ ...rest, 'public-url': 'http://paperless.example.com' }), asked, HOST);
    assert.match(asked.told[0] ?? '', /^is caddy, which serves https: .*; try again\.$/);
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
