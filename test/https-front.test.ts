/**
 * compose's https profile, run here: Debian's caddy with the profile's own Caddyfile and
 * entrypoint (read from compose.yaml; only addresses and paths changed) in front of a real
 * gateway that trusts Caddy's address alone, as init sets it up (GATEWAY_TRUST_PROXY). Caddy's
 * state lives in a temporary folder, so the machine's trust store is never touched.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from './support/gateway.js';
import { freePort } from './support/ports.js';
import { startStackOn, type UpstreamStack } from './support/stack.js';
import { upstreamKinds } from './support/upstream.js';

interface CaddyService {
  environment: Record<string, string>;
  entrypoint: string[];
}

const NAME = 'paperless.test';
/** The person's machine: another loopback address than Caddy's, so the two can be told apart. */
const CLIENT = '127.0.0.2';

/** The caddy service as compose.yaml writes it, with compose's `$$` read as the `$` it becomes. */
function caddyService(): CaddyService {
  const raw = (parse(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8')) as { services: { caddy: CaddyService } }).services.caddy;
  const unescape = (v: string) => v.replace(/\$\$/g, '$');
  return { environment: Object.fromEntries(Object.entries(raw.environment).map(([k, v]) => [k, unescape(v)])), entrypoint: raw.entrypoint.map(unescape) };
}

/** The Caddyfile with only what must differ on this machine: the gateway's address, the ports, the https folder. */
function localCaddyfile(gateway: string, httpPort: number, httpsFolder: string): string {
  const text = caddyService().environment.CADDYFILE ?? '';
  assert.equal(text.split('reverse_proxy gateway:8080').length, 2, 'one upstream, the gateway service');
  assert.ok(text.startsWith('{\n'), 'the Caddyfile opens with its global options');
  // Port 80 may be taken here (and needs root): the redirect listener moves, nothing else does.
  return text.replace('{\n', `{\n\thttp_port ${httpPort}\n`).replace('reverse_proxy gateway:8080', `reverse_proxy ${gateway}`).replaceAll('/https/', `${httpsFolder}/`);
}

/** `caddy adapt` of the profile's Caddyfile for one GATEWAY_HTTPS_CERTIFICATE: the JSON config Caddy would run. */
function adapt(certificate: string, home: string): { status: number | null; stderr: string; config?: { apps?: { tls?: unknown } } } {
  const file = join(home, `Caddyfile-${certificate}`);
  writeFileSync(file, caddyService().environment.CADDYFILE ?? '');
  const res = spawnSync('caddy', ['adapt', '--config', file, '--adapter', 'caddyfile'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), GATEWAY_PUBLIC_URL: `https://${NAME}`, GATEWAY_HTTPS_CERTIFICATE: certificate },
  });
  assert.equal(res.error, undefined, 'caddy is installed (npm run setup:debian)');
  return { status: res.status, stderr: res.stderr, ...(res.status === 0 ? { config: JSON.parse(res.stdout) as { apps?: { tls?: unknown } } } : {}) };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A browser on CLIENT that speaks https to Caddy for NAME, trusting only Caddy's own root, and keeps cookies. */
class HttpsBrowser {
  private readonly jar = new Map<string, string>();
  constructor(
    private readonly port: number,
    private readonly ca: string,
  ) {}

  get origin(): string {
    return `https://${NAME}:${this.port}`;
  }

  request(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: this.port,
          servername: NAME,
          localAddress: CLIENT,
          ca: this.ca,
          method,
          path,
          agent: false,
          headers: { Host: `${NAME}:${this.port}`, Referer: `${this.origin}/`, ...(cookie ? { Cookie: cookie } : {}), ...(body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) }), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            for (const line of res.headers['set-cookie'] ?? []) {
              const [pair = ''] = line.split(';');
              const at = pair.indexOf('=');
              if (/max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.jar.delete(pair.slice(0, at));
              else this.jar.set(pair.slice(0, at), pair.slice(at + 1));
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async login(username: string, password: string, headers: Record<string, string> = {}): Promise<Reply> {
    const page = await this.request('GET', '/accounts/login/', headers);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(csrf, `the sign-in page came through Caddy (status ${page.status})`);
    const form = new URLSearchParams({ username, password, _csrf: csrf, next: '' }).toString();
    return this.request('POST', '/accounts/login/', { 'Content-Type': 'application/x-www-form-urlencoded', Origin: this.origin, ...headers }, form);
  }
}

describe("the https profile's Caddyfile, for each GATEWAY_HTTPS_CERTIFICATE", () => {
  const home = mkdtempSync(join(tmpdir(), 'plg-caddy-adapt-'));
  after(() => rmSync(home, { recursive: true, force: true }));

  it('auto: Caddy manages a certificate for the public name itself (ACME), with no issuer forced', () => {
    const res = adapt('auto', home);
    assert.equal(res.status, 0, res.stderr);
    const tls = JSON.stringify(res.config?.apps?.tls ?? {});
    assert.doesNotMatch(tls, /"module":"internal"|load_files/);
  });

  it("internal: Caddy's own CA issues it, and Caddy installs nothing into a trust store", () => {
    const res = adapt('internal', home);
    assert.equal(res.status, 0, res.stderr);
    assert.match(JSON.stringify(res.config), /"subjects":\["paperless\.test"\],"issuers":\[\{"module":"internal"\}\]/);
    assert.match(JSON.stringify(res.config), /"install_trust":false/);
  });

  it("files: the office's own certificate and key from the https folder, which only Caddy mounts", () => {
    const res = adapt('files', home);
    assert.equal(res.status, 0, res.stderr);
    assert.match(JSON.stringify(res.config?.apps?.tls), /"load_files":\[\{"certificate":"\/https\/https\.crt","key":"\/https\/https\.key"/);
  });

  it('anything else stops Caddy at start, naming the value', () => {
    const res = adapt('letsencrypt', home);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /certificate-letsencrypt/);
  });
});

describe("the https profile's entrypoint refuses a value that would write into the Caddyfile", () => {
  const home = mkdtempSync(join(tmpdir(), 'plg-caddy-entry-'));
  after(() => rmSync(home, { recursive: true, force: true }));

  /** The exact entrypoint, writing its Caddyfile here; given 10 s, after which a Caddy it started is killed. */
  function entrypoint(env: { GATEWAY_PUBLIC_URL: string; GATEWAY_HTTPS_CERTIFICATE: string }): { status: number | null; stderr: string; wrote: boolean } {
    const configFile = join(home, 'Caddyfile');
    rmSync(configFile, { force: true });
    const [command = 'sh', ...args] = caddyService().entrypoint.map((word) => word.replaceAll('/etc/caddy/Caddyfile', configFile));
    const res = spawnSync(command, args, {
      encoding: 'utf8',
      timeout: 10_000,
      env: { PATH: process.env.PATH, HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), CADDYFILE: caddyService().environment.CADDYFILE ?? '', ...env },
    });
    return { status: res.status, stderr: res.stderr, wrote: existsSync(configFile) };
  }

  const URL_REFUSED = /^caddy: GATEWAY_PUBLIC_URL must be https:\/\/HOST or https:\/\/HOST:PORT, the host of letters, digits, dots and dashes, with no path \(e\.g\. https:\/\/paperless\.example\.com\); Caddy was not started$/m;
  const PORT_REFUSED = /^caddy: GATEWAY_PUBLIC_URL's port must be digits only \(e\.g\. https:\/\/paperless\.example\.com:8443\); Caddy was not started$/m;

  for (const [url, refusal] of [
    // A line break or tab that a URL parser (the gateway's) would drop, followed by directives.
    ['https://paperless.test\n\treverse_proxy 192.0.2.1:80\n}\nhttp://other.test {\n\trespond ok', URL_REFUSED],
    ['https://paperless.test\t{', URL_REFUSED],
    ['https://paperless.test}', URL_REFUSED],
    ['http://paperless.test', URL_REFUSED],
    ['https://paperless.test/paperless', URL_REFUSED],
    ['https://user@paperless.test', URL_REFUSED],
    ['https://', URL_REFUSED],
    ['https://paperless.test:', PORT_REFUSED],
    ['https://paperless.test:443\n', PORT_REFUSED],
    ['https://paperless.test:44x3', PORT_REFUSED],
  ] as const) {
    it(`GATEWAY_PUBLIC_URL=${JSON.stringify(url)}: stops with a message, writing no Caddyfile`, () => {
      const res = entrypoint({ GATEWAY_PUBLIC_URL: url, GATEWAY_HTTPS_CERTIFICATE: 'internal' });
      assert.equal(res.status, 1, res.stderr);
      assert.match(res.stderr, refusal);
      assert.equal(res.wrote, false);
    });
  }

  for (const certificate of ['internal\n}\n:8081 {\n\trespond ok', 'internal }', 'letsencrypt', '']) {
    it(`GATEWAY_HTTPS_CERTIFICATE=${JSON.stringify(certificate)}: stops with a message, writing no Caddyfile`, () => {
      const res = entrypoint({ GATEWAY_PUBLIC_URL: 'https://paperless.test', GATEWAY_HTTPS_CERTIFICATE: certificate });
      assert.equal(res.status, 1, res.stderr);
      assert.match(res.stderr, /^caddy: GATEWAY_HTTPS_CERTIFICATE must be auto, internal or files; Caddy was not started$/m);
      assert.equal(res.wrote, false);
    });
  }
});

for (const kind of upstreamKinds()) {
  describe(`Caddy (tls internal) in front of the gateway, as the https profile runs it (${kind})`, () => {
    let stack: UpstreamStack;
    let caddy: ChildProcess | undefined;
    let home: string;
    let caddyPort: number;
    let httpPort: number;
    let browser: HttpsBrowser;
    const caddyLog: string[] = [];

    before(async () => {
      home = mkdtempSync(join(tmpdir(), 'plg-caddy-'));
      caddyPort = await freePort();
      httpPort = await freePort();
      const publicUrl = `https://${NAME}:${caddyPort}`;
      // As init writes it with --tls-front caddy: trust exactly the front's address.
      stack = await startStackOn(kind, { env: { GATEWAY_PUBLIC_URL: publicUrl, GATEWAY_TRUST_PROXY: '127.0.0.1' } });
      const service = caddyService();
      const configFile = join(home, 'Caddyfile');
      const entrypoint = service.entrypoint.map((word) => word.replaceAll('/etc/caddy/Caddyfile', configFile));
      assert.equal(service.entrypoint.join(' ').split('/etc/caddy/Caddyfile').length, 3, 'the entrypoint writes and runs one Caddyfile');
      const [command = 'sh', ...args] = entrypoint;
      mkdirSync(join(home, 'https'));
      caddy = spawn(command, args, {
        env: {
          PATH: process.env.PATH,
          HOME: home,
          XDG_DATA_HOME: join(home, 'data'),
          XDG_CONFIG_HOME: join(home, 'config'),
          // A trailing slash, as an admin may type it: the entrypoint drops it (a site address takes no path).
          GATEWAY_PUBLIC_URL: `${publicUrl}/`,
          GATEWAY_HTTPS_CERTIFICATE: 'internal',
          CADDYFILE: localCaddyfile(`127.0.0.1:${stack.gateway.port}`, httpPort, join(home, 'https')),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      caddy.stdout?.on('data', (d: Buffer) => caddyLog.push(d.toString()));
      caddy.stderr?.on('data', (d: Buffer) => caddyLog.push(d.toString()));
      const root = join(home, 'data/caddy/pki/authorities/local/root.crt');
      const deadline = Date.now() + 20_000;
      for (;;) {
        if (caddy.exitCode !== null) throw new Error(`caddy exited with ${caddy.exitCode}:\n${caddyLog.join('')}`);
        if (existsSync(root)) {
          browser = new HttpsBrowser(caddyPort, readFileSync(root, 'utf8'));
          const ready = await browser.request('GET', '/_gateway/health').then(
            (r) => r.status === 200,
            () => false,
          );
          if (ready) break;
        }
        if (Date.now() > deadline) throw new Error(`caddy did not serve ${publicUrl} within 20 s:\n${caddyLog.join('')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    });

    after(async () => {
      if (caddy && caddy.exitCode === null) {
        const exited = new Promise((r) => caddy?.once('exit', r));
        caddy.kill('SIGTERM');
        await exited;
      }
      await stack?.stop();
      if (home) rmSync(home, { recursive: true, force: true });
    });

    const loginIps = () =>
      stack.gateway.logs
        .filter((l) => l.includes('"login.success"'))
        .map((l) => (JSON.parse(l) as { ip: string }).ip);

    it("signs in over https through Caddy, with a certificate from Caddy's own CA for the public name", async () => {
      const res = await browser.login('alice', 'alice-pass');
      assert.equal(res.status, 303, res.body);
      const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).join('\n');
      assert.match(cookie, /; Secure/i, 'the session cookie is Secure: the gateway knows it is served over https');
      const page = await browser.request('GET', '/documents/');
      assert.equal(page.status, 200);
      assert.match(page.body, /id="user">alice</);
    });

    it("the gateway sees the person's address from Caddy's X-Forwarded-For, never Caddy's, and never one the client made up", async () => {
      assert.deepEqual(loginIps(), [CLIENT]);
      // Caddy replaces a client's own X-Forwarded-For (the client is no proxy it trusts).
      const other = new HttpsBrowser(caddyPort, readFileSync(join(home, 'data/caddy/pki/authorities/local/root.crt'), 'utf8'));
      const res = await other.login('bob', 'bob-pass', { 'X-Forwarded-For': '203.0.113.7' });
      assert.equal(res.status, 303, res.body);
      assert.deepEqual(loginIps(), [CLIENT, CLIENT]);
    });

    it('a wrong password is counted against the person\'s address, not against everyone behind Caddy', async () => {
      const res = await new HttpsBrowser(caddyPort, readFileSync(join(home, 'data/caddy/pki/authorities/local/root.crt'), 'utf8')).login('carol', 'wrong');
      assert.notEqual(res.status, 303);
      const failed = stack.gateway.logs.filter((l) => l.includes('"login.failure"')).map((l) => (JSON.parse(l) as { ip?: string }).ip);
      assert.ok(failed.length > 0, `the failure is logged:\n${stack.gateway.logs.slice(-5).join('\n')}`);
      assert.deepEqual([...new Set(failed)], [CLIENT]);
    });

    it('plain http on the redirect port is sent to the https address', async () => {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get({ host: '127.0.0.1', port: httpPort, path: '/documents/', headers: { Host: NAME }, agent: false }, resolve).on('error', reject),
      );
      res.resume();
      assert.equal(res.statusCode, 308);
      assert.equal(res.headers.location, `https://${NAME}:${caddyPort}/documents/`);
    });
  });
}
