/**
 * The .env that `init` writes, read back by the readers that will read it: python-dotenv (compose
 * v1's parser: Debian's 0.21 that /usr/bin/docker-compose imports, and pip's current one where
 * installed) and Debian's docker-compose itself, both as `env_file` and for `${…}` in compose.yaml.
 * Every value must come back exactly as typed, or init must refuse it with a reason.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { envValue, readEnvValue, renderEnvFile } from '../src/cli/env-file.js';
import { CommandUsageError } from '../src/cli/usage-error.js';

/** What .env readers trip over, each of which init can write. */
const WRITABLE = [
  'secret\\',
  'secret with spaces\\',
  'space last \\',
  'a "quoted" one\\',
  "a 'quoted' one\\",
  'two\\\\backslashes',
  'ends with two\\\\',
  "it's",
  'say "hi"',
  "both ' and \" and \\",
  'p$ss #word "x" $HOME',
  '$',
  'a$b',
  '#start',
  'ends#',
  'a #comment',
  'inner  spaces',
  ' leading and trailing ',
  'tab\there',
  'back\\slash',
  'x\\\'',
  'ünïcödé ☃',
  '\\n is not a newline',
  '"',
  "'",
  '=',
  '',
];

/** What no quoting makes every reader read back alike: refused, with the way out. */
const REFUSED = ['line\nbreak', 'carriage\rreturn', "$ and '", '${HOME}', '$ and \\\\ twice', 'ends in $\\', 'ends # in\\', ' space first\\', '"quote first\\', "'quote first\\"];

/** python-dotenv's reading of `file`, by the given interpreter; undefined when it has no dotenv. */
function dotenvRead(python: string, file: string): Record<string, string | null> | undefined {
  const res = spawnSync(python, ['-c', 'import json, sys\nfrom dotenv import dotenv_values\nprint(json.dumps(dotenv_values(sys.argv[1])))', file], { encoding: 'utf8' });
  if (res.error || res.status !== 0) return undefined;
  return JSON.parse(res.stdout) as Record<string, string | null>;
}

/** Debian's docker-compose: each name's value as env_file reads it and as `${NAME}` interpolates it. */
function composeRead(dir: string, names: string[]): { envFile: Record<string, string>; interpolated: Record<string, string> } {
  const compose = {
    services: {
      probe: { image: 'busybox', env_file: ['.env'] },
      interpolate: { image: 'busybox', environment: Object.fromEntries(names.map((n) => [n, `\${${n}}`])) },
    },
  };
  writeFileSync(join(dir, 'compose.yaml'), JSON.stringify(compose));
  const res = spawnSync('docker-compose', ['--env-file', join(dir, '.env'), '-f', join(dir, 'compose.yaml'), 'config'], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(res.error, undefined, 'docker-compose is installed (npm run setup:debian)');
  assert.equal(res.status, 0, res.stderr);
  const services = (parse(res.stdout) as { services: Record<string, { environment?: Record<string, unknown> }> }).services;
  // compose's own escape for a literal $ in `config` output.
  const values = (env: Record<string, unknown> | undefined) => Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, String(v ?? '').replace(/\$\$/g, '$')]));
  return { envFile: values(services.probe?.environment), interpolated: values(services.interpolate?.environment) };
}

describe('.env values as init writes them', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'plg-env-file-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes NAME=value lines with a sentinel after each, so a value that eats the next line shows. */
  function writeValues(values: string[]): string[] {
    const names = values.map((_, i) => `V${i}`);
    const lines = values.flatMap((v, i) => [`${names[i]}=${envValue(names[i] as string, v)}`, `AFTER${i}=intact`]);
    writeFileSync(join(dir, '.env'), `${lines.join('\n')}\n`);
    return names;
  }

  it('python-dotenv reads back exactly what was typed, and every line after it', () => {
    const names = writeValues(WRITABLE);
    const readers = [['/usr/bin/python3', "Debian's python-dotenv, compose v1's"], ['python3', "pip's python-dotenv"]] as const;
    let ran = 0;
    for (const [python, what] of readers) {
      const read = dotenvRead(python, join(dir, '.env'));
      if (read === undefined) continue;
      ran++;
      WRITABLE.forEach((value, i) => {
        assert.equal(read[names[i] as string], value, `${what}: ${JSON.stringify(value)}`);
        assert.equal(read[`AFTER${i}`], 'intact', `${what}: the line after ${JSON.stringify(value)}`);
      });
    }
    assert.ok(ran > 0, 'python-dotenv is installed (Debian: python3-dotenv, which docker-compose needs)');
  });

  it("Debian's docker-compose reads back exactly what was typed, as env_file and in ${…}", () => {
    const names = writeValues(WRITABLE);
    const { envFile, interpolated } = composeRead(dir, names);
    WRITABLE.forEach((value, i) => {
      assert.equal(envFile[names[i] as string], value, `env_file: ${JSON.stringify(value)}`);
      assert.equal(interpolated[names[i] as string], value, `\${…}: ${JSON.stringify(value)}`);
      assert.equal(envFile[`AFTER${i}`], 'intact');
    });
  });

  it('init reads its own lines as the readers do (its check of the answers sees the typed value)', () => {
    for (const value of WRITABLE) assert.equal(readEnvValue(envValue('V', value)), value, JSON.stringify(value));
  });

  it('a value no quoting can carry to every reader is refused, naming the setting and the way out', () => {
    for (const value of REFUSED) {
      assert.throws(() => envValue('GATEWAY_LDAP_BIND_PASSWORD', value), (err: unknown) => {
        assert.ok(err instanceof CommandUsageError, JSON.stringify(value));
        assert.match(err.message, /^GATEWAY_LDAP_BIND_PASSWORD: .*cannot be written to \.env.*set GATEWAY_LDAP_BIND_PASSWORD_FILE instead/);
        return true;
      });
    }
  });

  it('a whole .env with a bind password ending in \\ keeps every setting for compose v1', () => {
    const answers = {
      publicUrl: 'https://paperless.example.com',
      preset: 'openldap',
      ldapUrl: 'ldaps://dc1.example.com',
      bindDn: 'cn=gate way,ou=services,dc=example,dc=com',
      bindPassword: 'trailing "back" slash\\',
      userBase: 'ou=people,dc=example,dc=com',
      adminGroup: 'cn=Admins\\, IT,ou=groups,dc=example,dc=com',
      userGroup: "O'Brien's \"team\" #1",
      userPermissions: 'viewer' as const,
      caFile: true,
      tlsFront: { kind: 'proxy' as const, addresses: '10.0.0.5, 10.0.1.0/24' },
      publish: { address: '[::1]', port: 8080 },
      database: 'postgres' as const,
    };
    writeFileSync(join(dir, '.env'), renderEnvFile(answers, { timeZone: 'America/Argentina/Buenos_Aires', uid: 1000, gid: 1000 }));
    const read = dotenvRead('/usr/bin/python3', join(dir, '.env')) ?? dotenvRead('python3', join(dir, '.env'));
    assert.ok(read, 'python-dotenv is installed');
    assert.equal(read.GATEWAY_LDAP_BIND_PASSWORD, answers.bindPassword);
    assert.equal(read.GATEWAY_LDAP_BIND_DN, answers.bindDn);
    assert.equal(read.GATEWAY_LDAP_USER_BASE, answers.userBase);
    assert.equal(read.GATEWAY_LDAP_ALLOWED_GROUPS, `${answers.adminGroup};${answers.userGroup}`);
    assert.equal(read.GATEWAY_TRUST_PROXY, answers.tlsFront.addresses);
    assert.equal(read.GATEWAY_PUBLISH_ADDRESS, '[::1]');
    assert.equal(read.GATEWAY_LDAP_CA_FILE, '/config/certs/ldap-ca.pem');
    assert.equal(read.PAPERLESS_TIME_ZONE, 'America/Argentina/Buenos_Aires');
    assert.match(read.PAPERLESS_DBPASS ?? '', /^[0-9a-f]{48}$/);
    assert.match(read.GATEWAY_SESSION_SECRET ?? '', /^[0-9a-f]{64}$/);
    assert.match(read.GATEWAY_PAPERLESS_TOKEN ?? '', /^[0-9a-f]{40}$/);
    assert.match(read.PAPERLESS_SECRET_KEY ?? '', /^[0-9a-f]{64}$/);
    const { envFile } = composeRead(dir, []);
    assert.equal(envFile.GATEWAY_LDAP_BIND_PASSWORD, answers.bindPassword);
    assert.equal(envFile.GATEWAY_LDAP_USER_BASE, answers.userBase);
    assert.equal(envFile.GATEWAY_LDAP_ALLOWED_GROUPS, `${answers.adminGroup};${answers.userGroup}`);
  });

  it('a setting without a _FILE form is refused with another way out', () => {
    assert.throws(() => envValue('GATEWAY_LDAP_ALLOWED_GROUPS', "admins;it's $team"), /GATEWAY_LDAP_ALLOWED_GROUPS: .*cannot be written to \.env.*give it without those characters/);
  });
});
