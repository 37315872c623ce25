/**
 * The Django upstream (test/paperless-django): Paperless-ngx's authentication shell on the
 * versions Paperless 2.20.15 locks, run as Paperless's image runs it (granian --interface asginl
 * --ws --loop uvloop, SQLite, sessions in the database). Its virtualenv is made from PyPI on first use and kept
 * in the user's cache folder, keyed by the requirements and the Python version.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordedRequest } from './paperless-sim.js';
import { freePort } from './ports.js';
import type { NewDocument, NewUser, Upstream, UpstreamOptions, UpstreamUser } from './upstream.js';

export const DJANGO_APP = fileURLToPath(new URL('../paperless-django/', import.meta.url));
const PYTHON = process.env.PYTHON ?? 'python3';

function runOrThrow(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const res = spawnSync(command, args, { encoding: 'utf8', ...options, env: { ...process.env, ...options.env } });
  if (res.error) throw new Error(`${command} could not run: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/** The virtualenv with the pinned stack; made once per requirements and Python version. */
export function djangoVenv(): string {
  const requirements = readFileSync(join(DJANGO_APP, 'requirements.txt'), 'utf8');
  const python = runOrThrow(PYTHON, ['-c', 'import sys; print(sys.version)']);
  const key = createHash('sha256').update(requirements).update(python).digest('hex').slice(0, 16);
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'paperless-ldap-gateway');
  const venv = join(cache, `django-venv-${key}`);
  if (existsSync(join(venv, '.complete'))) return venv;
  // Made in place (a venv names its own folder in its scripts); the marker, written last,
  // tells a whole venv from one an interrupted install left behind.
  rmSync(venv, { recursive: true, force: true });
  mkdirSync(cache, { recursive: true });
  try {
    runOrThrow(PYTHON, ['-m', 'venv', venv]);
    runOrThrow(join(venv, 'bin/pip'), ['install', '--disable-pip-version-check', '--no-input', '-q', '-r', join(DJANGO_APP, 'requirements.txt')]);
  } catch (err) {
    rmSync(venv, { recursive: true, force: true });
    throw err;
  }
  writeFileSync(join(venv, '.complete'), requirements);
  return venv;
}

function settingsEnv(options: UpstreamOptions): Record<string, string> {
  const env: Record<string, string> = {
    PAPERLESS_ENABLE_HTTP_REMOTE_USER: String(options.enableRemoteUser ?? true),
    PAPERLESS_ENABLE_HTTP_REMOTE_USER_API: String(options.enableRemoteUserApi ?? false),
    PAPERLESS_HTTP_REMOTE_USER_HEADER_NAME: options.remoteUserKey ?? 'HTTP_REMOTE_USER',
    PAPERLESS_COOKIE_PREFIX: options.cookiePrefix ?? '',
  };
  if (options.paperlessUrl) env.PAPERLESS_URL = options.paperlessUrl;
  if (options.trustForwardedProto) env.PAPERLESS_PROXY_SSL_HEADER = '["HTTP_X_FORWARDED_PROTO", "https"]';
  if (options.logoutRedirectUrl) env.PAPERLESS_LOGOUT_REDIRECT_URL = options.logoutRedirectUrl;
  if (options.aiEnabled) env.PAPERLESS_AI_ENABLED = 'true';
  // Not a Paperless setting: which release line the shell reproduces (contract §7 or §8).
  env.PAPERLESS_TEST_LINE = String(options.line ?? 2);
  return env;
}

/** One template database per release line: their permission tables differ. */
const templates = new Map<number, string>();

/** Process groups of running upstreams: killed if the test process ends without stopping them. */
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function appFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.name !== '__pycache__' && !e.name.endsWith('.pyc'))
    .flatMap((e) => (e.isDirectory() ? appFiles(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/**
 * A migrated database per release line, copied for each upstream. Migrating takes seconds and
 * every test file is a process of its own, so it is kept in the cache folder beside the venv,
 * keyed by the app's files, the venv and the line: any change to the app migrates anew.
 */
function templateDatabase(venv: string, line: number): string {
  const made = templates.get(line);
  if (made && existsSync(made)) return made;
  const hash = createHash('sha256').update(venv).update(String(line));
  for (const file of appFiles(DJANGO_APP)) hash.update(file).update(readFileSync(file));
  const db = join(dirname(venv), `django-db-${hash.digest('hex').slice(0, 16)}.sqlite3`);
  if (!existsSync(db)) {
    const dir = mkdtempSync(join(tmpdir(), 'plg-django-template-'));
    try {
      const made = join(dir, 'db.sqlite3');
      runOrThrow(join(venv, 'bin/python'), ['manage.py', 'migrate', '-v0'], { cwd: DJANGO_APP, env: { PAPERLESS_DBNAME: made, PAPERLESS_TEST_LINE: String(line), PYTHONDONTWRITEBYTECODE: '1' } });
      // Renamed into place whole: test files started side by side never copy half a database.
      copyFileSync(made, `${db}.${process.pid}`);
      renameSync(`${db}.${process.pid}`, db);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  templates.set(line, db);
  return db;
}

export class DjangoUpstream implements Upstream {
  readonly kind = 'django' as const;
  readonly logs: string[] = [];
  port = 0;
  private child?: ChildProcess;
  private dataDir?: string;
  private readonly secret = randomBytes(16).toString('hex');

  constructor(readonly options: UpstreamOptions = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Runs `manage.py ARGS` on this upstream's database with its settings, as a one-shot
   * container would in Paperless's image (compose's paperless-bootstrap service).
   */
  manage(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
    if (!this.dataDir) throw new Error('start the upstream first: manage.py needs its database');
    const res = spawnSync(join(djangoVenv(), 'bin/python'), ['manage.py', ...args], {
      cwd: DJANGO_APP,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: process.env.PATH ?? '',
        ...settingsEnv(this.options),
        PAPERLESS_DBNAME: join(this.dataDir, 'db.sqlite3'),
        PAPERLESS_DATA_DIR: this.dataDir,
        PYTHONDONTWRITEBYTECODE: '1',
        ...env,
      },
    });
    return { status: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
  }

  async start(port = 0): Promise<void> {
    const venv = djangoVenv();
    if (!this.dataDir) {
      this.dataDir = mkdtempSync(join(tmpdir(), 'plg-django-'));
      copyFileSync(templateDatabase(venv, this.options.line ?? 2), join(this.dataDir, 'db.sqlite3'));
    }
    this.port = port || this.port || (await freePort());
    const child = spawn(
      join(venv, 'bin/granian'),
      ['--interface', 'asginl', '--ws', '--loop', 'uvloop', '--host', '127.0.0.1', '--port', String(this.port), '--workers', '1', 'paperless.asgi:application'],
      {
        cwd: DJANGO_APP,
        env: {
          PATH: process.env.PATH ?? '',
          ...settingsEnv(this.options),
          PAPERLESS_DBNAME: join(this.dataDir, 'db.sqlite3'),
          PAPERLESS_DATA_DIR: this.dataDir,
          UPSTREAM_CONTROL_SECRET: this.secret,
          PYTHONDONTWRITEBYTECODE: '1',
          PYTHONUNBUFFERED: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    this.child = child;
    const pid = child.pid;
    if (pid) {
      running.add(pid);
      child.once('exit', () => running.delete(pid));
    }
    const collect = (d: Buffer) => this.logs.push(...d.toString().split('\n').filter(Boolean));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the Django upstream exited with ${child.exitCode}:\n${this.logs.join('\n')}`);
      const ready = await fetch(`${this.url}/__upstream__/requests/?next=1`, { headers: { 'X-Upstream-Control': this.secret } }).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`the Django upstream did not answer within 20 s:\n${this.logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    // granian runs its workers as child processes: kill the whole group, or an orphaned worker
    // keeps the port and our pipes. SIGKILL, because an outage test wants Paperless gone now
    // (granian's SIGTERM waits for open websockets); SQLite survives it.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, 'SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
    this.dataDir = undefined;
  }

  private async control<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; data: T }> {
    const res = await fetch(`${this.url}/__upstream__/${path}`, {
      method,
      headers: { 'X-Upstream-Control': this.secret, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 500) throw new Error(`control API ${method} ${path}: ${res.status}\n${text}\n${this.logs.slice(-30).join('\n')}`);
    return { status: res.status, data: JSON.parse(text) as T };
  }

  async addUser(user: NewUser): Promise<UpstreamUser> {
    return (await this.control<UpstreamUser>('POST', 'users/', user)).data;
  }

  async addGroup(name: string, permissions: string[] = []) {
    return (await this.control<{ id: number; name: string; permissions: string[] }>('POST', 'groups/', { name, permissions })).data;
  }

  async user(username: string): Promise<UpstreamUser | undefined> {
    const res = await this.control<UpstreamUser>('GET', `users/${encodeURIComponent(username)}/`);
    return res.status === 404 ? undefined : res.data;
  }

  async users(): Promise<UpstreamUser[]> {
    return (await this.control<UpstreamUser[]>('GET', 'users/')).data;
  }

  async tokenFor(username: string): Promise<string> {
    return (await this.control<{ token: string }>('POST', 'tokens/', { username })).data.token;
  }

  async addDocument(document: NewDocument): Promise<{ id: number }> {
    const res = await this.control<{ id: number; detail?: string }>('POST', 'documents/', document);
    if (res.status !== 201) throw new Error(`addDocument: ${res.data.detail ?? res.status}`);
    return { id: res.data.id };
  }

  async addShareLink(slug: string, options: { expired?: boolean } = {}): Promise<void> {
    await this.control('POST', 'share-links/', { slug, expired: options.expired ?? false });
  }

  async sessionUser(sessionKey: string): Promise<string | undefined> {
    const { data } = await this.control<{ exists: boolean; user: string | null }>('GET', `sessions/${encodeURIComponent(sessionKey)}/`);
    return data.exists ? (data.user ?? '') : undefined;
  }

  async mark(): Promise<number> {
    return (await this.control<{ seq: number }>('GET', 'requests/?next=1')).data.seq;
  }

  async requestsSince(mark: number): Promise<RecordedRequest[]> {
    const { data } = await this.control<Array<RecordedRequest & { user: string | null; status: number | null }>>('GET', `requests/?since=${mark}`);
    return data.map((r) => ({ ...r, remoteUser: r.remoteUser ?? undefined, user: r.user ?? undefined, status: r.status ?? undefined }));
  }

  async uploads(): Promise<Array<{ user: string; bytes: number }>> {
    return (await this.control<Array<{ user: string; bytes: number }>>('GET', 'uploads/')).data;
  }

  async sendStatus(owner: string, status: string): Promise<void> {
    await this.control('POST', 'status/', { owner, status });
  }

  /** 3.x's document chat: lets the stream send its next event (they wait for the test). */
  async releaseChatEvent(): Promise<void> {
    await this.control('POST', 'chat/release/', {});
  }

  /** The next chat stream starts again with nothing released. */
  async resetChat(): Promise<void> {
    await this.control('POST', 'chat/release/', { count: 0 });
  }
}
