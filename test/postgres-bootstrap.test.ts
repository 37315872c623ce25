/**
 * compose's postgres profile, run here: exactly the paperless-bootstrap script from compose.yaml
 * on Paperless's Django stack (test/paperless-django) with its database in a private PostgreSQL
 * from Debian's packages (a temp dir, a random loopback port, password login as compose sets it
 * up). Also with the empty PAPERLESS_DBHOST an existing install gets, which must mean SQLite.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { SERVICE_ACCOUNT } from '../src/cli/env-file.js';
import { DJANGO_APP, djangoVenv } from './support/django-upstream.js';
import { REPO_ROOT } from './support/gateway.js';
import { freePort } from './support/ports.js';

const asRoot = process.getuid?.() === 0;
const PASSWORD = '9f2c4e1d8b7a60513c2e4f6a8b0d1e3f';
const TOKEN = 'c'.repeat(8) + '0123456789abcdef0123456789abcdef';

/** compose.yaml's bootstrap script, as compose hands it to `manage.py shell -c`. */
const SCRIPT = (parse(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8')) as { services: Record<string, { command?: string[] }> }).services['paperless-bootstrap']?.command?.[0] ?? '';

/** Debian's newest PostgreSQL server binaries. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin/initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  assert.ok(newest, 'PostgreSQL is installed (npm run setup:debian)');
  return join(root, newest, 'bin');
}

/**
 * A private PostgreSQL in a temp dir on a random loopback port. PostgreSQL refuses to run as
 * root: as root (CI) it runs as Debian's `postgres` user.
 */
class PrivatePostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'plg-postgres-'));
  readonly bin = postgresBin();
  port = 0;

  private run(command: string, args: string[], input?: string): string {
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(this.bin, command), ...args]] : [join(this.bin, command), args];
    const res = spawnSync(cmd, argv, { cwd: this.dir, encoding: 'utf8', input, env: { PATH: process.env.PATH, LC_ALL: 'C.UTF-8' }, timeout: 60_000 });
    if (res.error) throw res.error;
    if (res.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
    return res.stdout;
  }

  async init(): Promise<void> {
    if (asRoot) {
      const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      assert.equal(ids.status, 0, "Debian's postgres user exists (the postgresql package makes it)");
      const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout);
      chownSync(this.dir, Number(ids.stdout), gid);
    }
    this.port = await freePort();
    // Local socket: trust (this test's own setup); TCP: a password, as the postgres service asks for one.
    this.run('initdb', ['-D', join(this.dir, 'data'), '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8']);
  }

  start(): void {
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'log'), '-w', '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`, 'start']);
  }

  /** What `sql` answers (rows, fields separated by |), as the postgres superuser over the local socket. */
  query(sql: string): string {
    return this.run('psql', ['-X', '-A', '-t', '-h', this.dir, '-p', String(this.port), '-U', 'postgres', '-d', 'postgres', '-c', sql]).trim();
  }

  stop(): void {
    if (existsSync(join(this.dir, 'data/postmaster.pid'))) this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  /** As the postgres image does with POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB. */
  createDatabase(name: string): void {
    const sql = `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'paperless') THEN CREATE ROLE paperless LOGIN PASSWORD '${PASSWORD}'; END IF; END $$;\nCREATE DATABASE ${name} OWNER paperless;\n`;
    this.run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', this.dir, '-p', String(this.port), '-U', 'postgres', '-d', 'postgres'], sql);
  }

  destroy(): void {
    try {
      this.stop();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The last line a shell command printed (Django 5.2's shell first says what it imported). */
const lastLine = (res: Result) => res.stdout.trim().split('\n').at(-1) ?? '';

/** `manage.py ARGS` on Paperless's Django stack with these database settings, as Paperless's image runs it. */
function manage(args: string[], env: Record<string, string>): Result {
  const res = spawnSync(join(djangoVenv(), 'bin/python'), ['manage.py', ...args], { cwd: DJANGO_APP, encoding: 'utf8', timeout: 120_000, env: { PATH: process.env.PATH, PYTHONDONTWRITEBYTECODE: '1', ...env } });
  return { status: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

/** What Paperless's stack makes of a token (DRF's own authentication, in-process): the user, or the status. */
const WHO = `
import os
from django.test import Client
r = Client().get("/api/profile/", HTTP_AUTHORIZATION="Token " + os.environ["PROBE_TOKEN"])
from rest_framework.authtoken.models import Token
t = Token.objects.filter(key=os.environ["PROBE_TOKEN"]).select_related("user").first()
u = t.user if t else None
print(r.status_code, u.username if u else "-", bool(u and u.is_superuser), bool(u and u.is_staff), bool(u and u.is_active), bool(u and u.has_usable_password()))
`;

describe("compose's paperless-bootstrap script on PostgreSQL (the postgres profile)", () => {
  const pg = new PrivatePostgres();
  let db: Record<string, string>;

  before(async () => {
    assert.ok(SCRIPT.includes('gateway+service'), 'the bootstrap script is in compose.yaml');
    djangoVenv();
    await pg.init();
    pg.start();
    pg.createDatabase('paperless');
    // What compose hands Paperless and the bootstrap service with PAPERLESS_DBHOST=postgres.
    db = { PAPERLESS_DBHOST: '127.0.0.1', PAPERLESS_DBPORT: String(pg.port), PAPERLESS_DBNAME: 'paperless', PAPERLESS_DBUSER: 'paperless', PAPERLESS_DBPASS: PASSWORD };
    const migrated = manage(['migrate', '-v0'], db);
    assert.equal(migrated.status, 0, migrated.stderr);
  });
  after(() => pg.destroy());

  const bootstrap = (token: string, env: Record<string, string> = db) => manage(['shell', '-c', SCRIPT], { ...env, GATEWAY_PAPERLESS_TOKEN: token });
  const who = (token: string, env: Record<string, string> = db) => {
    const res = manage(['shell', '-c', WHO], { ...env, PROBE_TOKEN: token });
    assert.equal(res.status, 0, res.stderr);
    return lastLine(res);
  };

  it('really runs on PostgreSQL', () => {
    const res = manage(['shell', '-c', 'from django.db import connection; print(connection.vendor, connection.settings_dict["NAME"])'], db);
    assert.equal(lastLine(res), 'postgresql paperless', res.stderr);
  });

  it('creates gateway+service, a superuser without a password, with exactly the token; again, it changes nothing', () => {
    const first = bootstrap(TOKEN);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /Paperless superuser gateway\+service created with the gateway's token/);
    assert.equal(who(TOKEN), `200 ${SERVICE_ACCOUNT} True True True False`);
    const again = bootstrap(TOKEN);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /gateway\+service checked with the gateway's token$/m);
    assert.doesNotMatch(again.stdout, /replaced/);
    assert.equal(who(TOKEN), `200 ${SERVICE_ACCOUNT} True True True False`);
    const count = manage(['shell', '-c', 'from django.contrib.auth.models import User; print(User.objects.filter(username="gateway+service").count())'], db);
    assert.equal(lastLine(count), '1');
  });

  it("refuses a token that belongs to someone who is not an active superuser, and leaves it alone", () => {
    const clerk = 'd'.repeat(40);
    const made = manage(['shell', '-c', `from django.contrib.auth.models import User\nfrom rest_framework.authtoken.models import Token\nToken.objects.create(user=User.objects.create_user("clerk"), key="${clerk}")`], db);
    assert.equal(made.status, 0, made.stderr);
    const refused = bootstrap(clerk);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /GATEWAY_PAPERLESS_TOKEN belongs to clerk, who is not an active superuser/);
    assert.equal(who(clerk), '200 clerk False False True False');
    assert.equal(who(TOKEN), `200 ${SERVICE_ACCOUNT} True True True False`, "the gateway's own token is untouched");
  });

  it('started before the database answers and before Paperless migrated it, it waits and then finishes', async () => {
    pg.createDatabase('paperless_late');
    const late = { ...db, PAPERLESS_DBNAME: 'paperless_late' };
    pg.stop();
    const child = spawn(join(djangoVenv(), 'bin/python'), ['manage.py', 'shell', '-c', SCRIPT], {
      cwd: DJANGO_APP,
      env: { PATH: process.env.PATH, PYTHONDONTWRITEBYTECODE: '1', ...late, GATEWAY_PAPERLESS_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const until = async (what: () => boolean, label: string) => {
        const deadline = Date.now() + 30_000;
        while (!what()) {
          assert.equal(child.exitCode, null, `the script ended early:\n${out}`);
          assert.ok(Date.now() < deadline, `${label}:\n${out}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      await until(() => /Paperless's database is not ready yet/.test(out), 'the script says it waits for the database');
      pg.start();
      // The database answers, but Paperless has not migrated it: the script asks which tables there are
      // (Django's migration recorder looks for django_migrations in pg_class) and must keep waiting.
      const script = () => pg.query("SELECT pid, state, query FROM pg_stat_activity WHERE datname = 'paperless_late' AND usename = 'paperless'");
      let checked = '';
      await until(() => /\|idle\|.*pg_class/s.test((checked = script())), 'the script asks the database that answers whether it is migrated');
      // A script that went on would ask for the gateway's token at once; a waiting one sleeps 3 s.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(child.exitCode, null, `it must wait for Paperless's migrations:\n${out}`);
      assert.equal(script(), checked, `after the check it asked the database nothing more:\n${out}`);
      const migrated = manage(['migrate', '-v0'], late);
      assert.equal(migrated.status, 0, migrated.stderr);
      assert.equal(await exited, 0, out);
      assert.match(out, /gateway\+service created with the gateway's token/);
      assert.equal(who(TOKEN, late), `200 ${SERVICE_ACCOUNT} True True True False`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (!existsSync(join(pg.dir, 'data/postmaster.pid'))) pg.start();
    }
  });
});

describe("compose's paperless-bootstrap script with the empty PAPERLESS_DBHOST of an install without the postgres profile", () => {
  const dir = mkdtempSync(join(tmpdir(), 'plg-sqlite-bootstrap-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // Exactly what compose passes without the profile: PAPERLESS_DBHOST set, and empty.
  const env = { PAPERLESS_DBHOST: '', PAPERLESS_DBNAME: join(dir, 'db.sqlite3'), PAPERLESS_DATA_DIR: dir };

  it('means SQLite, and the script makes gateway+service there', () => {
    const migrated = manage(['migrate', '-v0'], env);
    assert.equal(migrated.status, 0, migrated.stderr);
    const vendor = manage(['shell', '-c', 'from django.db import connection; print(connection.vendor)'], env);
    assert.equal(lastLine(vendor), 'sqlite', vendor.stderr);
    const res = manage(['shell', '-c', SCRIPT], { ...env, GATEWAY_PAPERLESS_TOKEN: TOKEN });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /gateway\+service created with the gateway's token/);
  });
});
