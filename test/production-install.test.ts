/**
 * The install without Docker, as README's recipe writes it (package files, dist/ and views/,
 * `npm ci --omit=dev`; the settings file for the service's group only), which is also what the
 * Dockerfile's runtime stage builds: made read-only and run by an unprivileged user, started with
 * the Dockerfile's own ENTRYPOINT, ENV and HEALTHCHECK. A dependency that only devDependencies
 * provide fails here, as it would in every container. What running here cannot show of the image
 * (its base, its user, that its install and its files are this one's) is read from the
 * Dockerfile's instructions, parsed as Docker reads them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, REPO_ROOT, type Launch } from './support/gateway.js';
import { closedWithin, openSocket } from './support/status-socket.js';
import { startStack, type Stack } from './support/stack.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

/** Runs a command as uid/gid 65534 when we are root (as CI is); otherwise as ourselves. */
function unprivileged(command: string, args: string[]): { command: string; args: string[] } {
  if (!asRoot) return { command, args };
  return { command: 'setpriv', args: [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', command, ...args] };
}

/**
 * Runs a command to its end. It keeps this environment (npm needs the machine's CA and proxy
 * settings) and gets a time limit, so a registry that does not answer fails the test, not CI.
 */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const res = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 });
  if (res.error) throw res.error;
  return res;
}

/**
 * The install lines of README's "Without Docker" recipe that need neither apt nor a new system
 * user: from `install -d /opt/paperless-ldap-gateway` to the settings file.
 */
function readmeRecipe(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```sh\n([\s\S]*?)\n```/g)].map((m) => m[1] ?? '').find((b) => b.includes('npm ci --omit=dev'));
  assert.ok(block, 'README has the production install recipe (a ```sh block with npm ci --omit=dev)');
  const lines = block.split('\n').map((l) => l.replace(/\s+#.*$/, ''));
  const first = lines.findIndex((l) => l.startsWith('install -d /opt/paperless-ldap-gateway'));
  const last = lines.findIndex((l) => l.includes('/etc/paperless-ldap-gateway/env'));
  assert.ok(first >= 0 && last > first, `README's recipe installs into /opt/paperless-ldap-gateway, then makes /etc/paperless-ldap-gateway/env:\n${block}`);
  const recipe = lines.slice(first, last + 1).join('\n');
  for (const step of ['npm ci --omit=dev', 'dist', 'views']) assert.ok(recipe.includes(step), `the recipe installs ${step}`);
  return recipe;
}

/** The service's group here (README's recipe makes paperless-gateway): Debian's `users`, which nobody is not in. */
function serviceGroup(): string {
  return asRoot ? '100' : spawnSync('id', ['-g'], { encoding: 'utf8' }).stdout.trim();
}

/** chmod -R: read-only (a=rX) or writable again for clean-up. */
function chmodTree(path: string, writable: boolean): void {
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (entry.isSymbolicLink()) continue;
    const full = join(entry.parentPath, entry.name);
    chmodSync(full, entry.isDirectory() ? (writable ? 0o755 : 0o555) : writable ? 0o644 : 0o444);
  }
  chmodSync(path, writable ? 0o755 : 0o555);
}

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  /** The base image, `name:tag`. */
  base: string;
  instructions: Instruction[];
}

/**
 * The Dockerfile's stages as Docker reads them: comment lines dropped (also inside a continued
 * instruction), continuation lines joined, keywords in any case.
 */
function dockerfileStages(): Stage[] {
  const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\[ \t]*\n/g, ' ');
  const stages: Stage[] = [];
  for (const line of joined.split('\n')) {
    const m = /^\s*(\w+)\s+(.*?)\s*$/.exec(line);
    if (!m) continue;
    const instruction = { keyword: (m[1] as string).toUpperCase(), args: m[2] as string };
    if (instruction.keyword === 'FROM') {
      const base = instruction.args.split(/\s+/).find((word) => !word.startsWith('--'));
      assert.ok(base, `FROM ${instruction.args} names an image`);
      stages.push({ base, instructions: [] });
    } else {
      const stage = stages.at(-1);
      assert.ok(stage, `${instruction.keyword} comes after a FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

/** The stage `docker build` makes the image of when no --target is given: the last. */
function runtimeStage(): Stage {
  const stage = dockerfileStages().at(-1);
  assert.ok(stage, 'the Dockerfile has a stage');
  return stage;
}

/** The arguments of the stage's last instruction of this kind (the one that takes effect), if any. */
function last(stage: Stage, keyword: string): string | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;
}

/**
 * An exec-form command (`["node", "…"]`), which this test runs as Docker would. A shell form is
 * refused: for the ENTRYPOINT it would put /bin/sh between Docker's SIGTERM and node.
 */
function execForm(args: string | undefined, what: string): string[] {
  assert.ok(args !== undefined && args.startsWith('['), `${what} is in exec form: ${args}`);
  const parsed: unknown = JSON.parse(args);
  assert.ok(Array.isArray(parsed) && parsed.every((a) => typeof a === 'string'), `${what} is a list of strings`);
  return parsed;
}

/** The variables the runtime stage's ENV instructions set (`ENV A=b C=d`, or the older `ENV A b`). */
function imageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    assert.ok(!/["']/.test(args), `ENV ${args}: quoted values are not read here`);
    const words = args.split(/\s+/);
    if (!(words[0] as string).includes('=')) env[words[0] as string] = words.slice(1).join(' ');
    else for (const word of words) env[word.slice(0, word.indexOf('='))] = word.slice(word.indexOf('=') + 1);
  }
  return env;
}

/** The Dockerfile's HEALTHCHECK command, as its exec-form JSON array. */
function healthcheckCommand(): string[] {
  const args = last(runtimeStage(), 'HEALTHCHECK');
  const command = args === undefined ? undefined : /^(?:--\S+\s+)*CMD\s+(.*)$/.exec(args)?.[1];
  return execForm(command, 'the HEALTHCHECK command');
}

/** The Dockerfile's ENTRYPOINT: node and the script it runs, relative to the image's WORKDIR. */
function entrypoint(): { command: string; args: string[] } {
  const [command, ...args] = execForm(last(runtimeStage(), 'ENTRYPOINT'), 'the ENTRYPOINT');
  assert.equal(command, 'node', 'the ENTRYPOINT runs node (the test runs its own copy of the same binary)');
  return { command, args };
}

describe('the image (Dockerfile), where running it here cannot show it', () => {
  const stage = runtimeStage();
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { files: string[]; scripts: Record<string, string> };

  it('runs on a Node.js the suite runs on (npm run test:node24)', () => {
    const tested = /\bnode@(\d+)\b/.exec(pkg.scripts['test:node24'] ?? '')?.[1];
    assert.ok(tested, 'package.json has test:node24 with node@<major>');
    const [image, tag = 'latest'] = stage.base.split(':');
    assert.equal(image, 'node', `the runtime stage is built on the official node image: FROM ${stage.base}`);
    assert.equal(/^(\d+)/.exec(tag)?.[1], tested, `FROM ${stage.base}: the image's Node.js major is the one test:node24 runs`);
  });

  it('switches to a user that is not root before it runs the gateway', () => {
    const user = last(stage, 'USER');
    assert.ok(user, 'the runtime stage has a USER (otherwise the gateway runs as root)');
    const [name] = user.split(':');
    assert.ok(name !== 'root' && name !== '0', `USER ${user} is not root`);
  });

  it('installs only production dependencies, as this install does', () => {
    const installs = stage.instructions.filter((i) => i.keyword === 'RUN').flatMap((i) => i.args.split(/&&|;|\|\|/)).map((c) => c.trim()).filter((c) => /^npm\s+(ci|install|i)\b/.test(c));
    assert.ok(installs.length > 0, 'the runtime stage installs the dependencies');
    for (const install of installs) assert.match(install, /\s--omit=dev\b/, install);
  });

  it("loads the kerberos module as the image has it: installed without scripts, its build copied from the build stage", () => {
    const workdir = last(stage, 'WORKDIR') ?? '/app';
    const fromBuild = stage.instructions
      .filter((i) => i.keyword === 'COPY' && /--from=build\b/.test(i.args))
      .map((i) => i.args.split(/\s+/).filter((word) => !word.startsWith('--')))
      .map(([from = '', to = '']) => ({ from: posix.relative('/app', from), to: posix.relative(workdir, posix.resolve(workdir, to)) }))
      .filter(({ to }) => to.startsWith('node_modules/kerberos'));
    assert.ok(fromBuild.length > 0, 'the runtime stage copies the kerberos build from the build stage (install scripts do not run there)');
    // The module as `npm ci --ignore-scripts` leaves it (no build), then what the image copies in.
    const app = mkdtempSync(join(tmpdir(), 'plg-image-kerberos-'));
    try {
      cpSync(join(REPO_ROOT, 'node_modules/kerberos'), join(app, 'node_modules/kerberos'), { recursive: true, filter: (src) => !src.includes('/kerberos/build') });
      cpSync(join(REPO_ROOT, 'node_modules/node-addon-api'), join(app, 'node_modules/node-addon-api'), { recursive: true });
      const probe = "require('kerberos').initializeServer.length >= 0 && process.stdout.write('loaded')";
      assert.notEqual(run(process.execPath, ['-e', probe], app).stdout, 'loaded', 'without its build the module does not load');
      for (const { from, to } of fromBuild) cpSync(join(REPO_ROOT, from), join(app, to), { recursive: true });
      const loaded = run(process.execPath, ['-e', probe], app);
      assert.equal(loaded.stdout, 'loaded', loaded.stderr);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('copies every folder the package ships (package.json files) into its WORKDIR', () => {
    const workdir = last(stage, 'WORKDIR');
    assert.ok(workdir, "the runtime stage has a WORKDIR, where the ENTRYPOINT's relative path is read");
    const copied = stage.instructions
      .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
      .map((i) => i.args.split(/\s+/).filter((word) => !word.startsWith('--')).at(-1) as string)
      .map((to) => posix.relative(workdir, posix.resolve(workdir, to)));
    for (const shipped of pkg.files) assert.ok(copied.includes(posix.normalize(shipped)), `${shipped} is copied into ${workdir} (copied: ${copied.join(', ')})`);
  });
});

describe('a production install, as the image runs it', () => {
  let app: string;
  let etc: string;
  let runtime: string;
  let node: string;
  let stack: Stack;

  before(async () => {
    app = join(mkdtempSync(join(tmpdir(), 'plg-image-app-')), 'paperless-ldap-gateway');
    etc = mkdtempSync(join(tmpdir(), 'plg-image-etc-'));
    // Where /opt and /etc are: open to everyone.
    chmodSync(dirname(app), 0o755);
    chmodSync(etc, 0o755);
    // README's recipe, line for line, from the built clone (the suite builds first): only the
    // two folders and the service's group differ on this machine.
    const recipe = readmeRecipe()
      .replaceAll('/opt/paperless-ldap-gateway', app)
      .replaceAll('/etc/paperless-ldap-gateway', join(etc, 'paperless-ldap-gateway'))
      .replaceAll('-g paperless-gateway', `-g ${serviceGroup()}`);
    const install = run('sh', ['-ec', recipe], REPO_ROOT);
    assert.equal(install.status, 0, `${recipe}\n${install.stdout}\n${install.stderr}`);
    chmodTree(app, false);
    // The image has node in /usr/local/bin; ours may sit under /root (npx's node@24), which
    // the unprivileged user cannot enter, so it gets a copy of the same binary.
    runtime = mkdtempSync(join(tmpdir(), 'plg-image-node-'));
    node = join(runtime, 'node');
    cpSync(process.execPath, node);
    chmodSync(node, 0o555);
    chmodSync(runtime, 0o555);
    // As the image starts it: its ENTRYPOINT, its ENV; startStack adds `serve`, the image's CMD
    // (checked below).
    const unpriv = unprivileged(node, entrypoint().args);
    const launch: Launch = { command: unpriv.command, args: unpriv.args, cwd: app };
    stack = await startStack({ launch, env: imageEnv(runtimeStage()) });
  });

  after(async () => {
    await stack?.stop();
    for (const dir of [app, runtime]) {
      if (!dir) continue;
      chmodTree(dir, true);
      rmSync(dir, { recursive: true, force: true });
    }
    if (app) rmSync(dirname(app), { recursive: true, force: true });
    if (etc) rmSync(etc, { recursive: true, force: true });
  });

  it('has only production dependencies, in a tree nobody may write', () => {
    const installed = readdirSync(join(app, 'node_modules'));
    assert.ok(installed.includes('yaml'), 'yaml is a runtime dependency (the mapping file)');
    for (const dev of ['typescript', 'tsx', 'ws', 'playwright-core', 'http-proxy-3']) assert.ok(!installed.includes(dev), `${dev} is not installed for production`);
    if (asRoot) {
      const write = run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', 'sh', '-c', 'echo x > dist/x'], app);
      assert.notEqual(write.status, 0, 'the unprivileged user cannot write into the app');
    }
  });

  it("keeps the settings file from everyone but root and the service's group", () => {
    const folder = statSync(join(etc, 'paperless-ldap-gateway'));
    const file = statSync(join(etc, 'paperless-ldap-gateway/env'));
    assert.equal(folder.mode & 0o777, 0o750);
    assert.equal(file.mode & 0o777, 0o640);
    assert.equal(file.gid, Number(serviceGroup()));
    if (asRoot) {
      const read = run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', 'cat', join(etc, 'paperless-ldap-gateway/env')], etc);
      assert.notEqual(read.status, 0, 'another unprivileged user cannot read it');
      const service = run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, `--groups=${serviceGroup()}`, '--', 'cat', join(etc, 'paperless-ldap-gateway/env')], etc);
      assert.equal(service.status, 0, `the service's group reads it: ${service.stderr}`);
    }
  });

  it('runs as the unprivileged user', { skip: !asRoot && 'needs root to switch user (CI runs as root)' }, () => {
    const status = readFileSync(`/proc/${stack.gateway.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${NOBODY}\\s`, 'm'));
  });

  it('signs in, proxies, carries a websocket and signs out', async () => {
    const b = stack.browser();
    assert.equal((await b.login('alice', 'alice-pass')).status, 303);
    const page = await b.get('/documents/');
    assert.equal(page.status, 200);
    assert.match(page.body, /id="user">alice</);
    const { ws, status } = await openSocket(stack.gateway.url.replace('http', 'ws') + '/ws/status/', { Cookie: b.cookieHeader() });
    assert.ok(ws, `websocket refused with ${status}`);
    const logout = await b.get('/accounts/logout/');
    assert.equal(logout.status, 303);
    assert.equal(await closedWithin(ws), true, 'sign-out closes the websocket');
    const after = await b.get('/documents/');
    assert.equal(after.status, 302);
    assert.match(String(after.headers.location), /^\/accounts\/login\//);
  });

  it("was started with the image's CMD, serve", () => {
    assert.deepEqual(execForm(last(runtimeStage(), 'CMD'), 'the CMD'), ['serve']);
  });

  it("passes the Dockerfile's own HEALTHCHECK, which fails when nothing answers", async () => {
    const [command, ...args] = healthcheckCommand();
    assert.equal(command, 'node');
    const check = (port: number) => {
      const cmd = unprivileged(node, args);
      return run(cmd.command, cmd.args, runtime, { GATEWAY_PORT: String(port) }).status;
    };
    assert.equal(check(stack.gateway.port), 0);
    assert.equal(check(await freePort()), 1);
  });
});

describe('npm pack', () => {
  let work: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'plg-pack-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('packs a tarball whose production install runs the paperless-ldap-gateway bin', () => {
    const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], REPO_ROOT);
    assert.equal(pack.status, 0, pack.stderr);
    const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    assert.ok(packed);
    const files = packed.files.map((f) => f.path);
    assert.ok(files.includes('dist/main.js') && files.some((f) => f.startsWith('views/')), 'dist/ and views/ are packed');
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'no sources or tests in the package');
    const project = join(work, 'project');
    mkdirSync(project);
    cpSync(join(REPO_ROOT, '.npmrc'), join(project, '.npmrc'));
    writeFileSync(join(project, 'package.json'), '{"name":"install-check","private":true}\n');
    const install = run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', join(work, packed.filename)], project);
    assert.equal(install.status, 0, install.stderr);
    // The bin's shebang finds node on PATH: put this test's Node first.
    const help = run(join(project, 'node_modules/.bin/paperless-ldap-gateway'), ['--help'], project, { PATH: `${dirname(process.execPath)}:${process.env.PATH}` });
    assert.equal(help.status, 0, help.stderr);
    for (const command of ['serve', 'check-config', 'sync']) assert.match(help.stdout, new RegExp(`^  ${command}\\s`, 'm'));
  });
});
