/**
 * Signing in without a password on a domain-joined PC (GATEWAY_KERBEROS, SPNEGO): Samba's AD
 * domain controller with its KDC on a private loopback address, the service principal and keytab
 * made with samba-tool, tickets from kinit in private credential caches, and the requests made by
 * curl --negotiate (as a browser with a ticket would) and by a GSSAPI client in this process for
 * the tokens curl cannot make (another service's, one sent twice, one past its time).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import { kerberosCheck } from '../src/cli/check-config.js';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/config/errors.js';
import { negotiateHeader, Negotiator } from '../src/kerberos/negotiate.js';
import { MalformedNegotiateError, NegotiateBusyError, NegotiateRefusedError } from '../src/kerberos/errors.js';
import { signInNameOf } from '../src/kerberos/principal.js';
import { authenticatorOf } from '../src/kerberos/authenticator.js';
import { gssServiceName } from '../src/kerberos/service-name.js';
import { useKeytab } from '../src/kerberos/keytab.js';
import { enctypeName, judgeKeytab, keytabEntries } from '../src/kerberos/keytab-entries.js';
import { createApiClientStep } from '../src/proxy/api-clients.js';
import { CredentialCache } from '../src/proxy/credential-cache.js';
import { NotAllowedError } from '../src/directory/errors.js';
import { baseEnv } from './support/gateway.js';
import { LdapDirectory } from '../src/directory/ldap-directory.js';
import { accountRestriction } from '../src/directory/password-expiry.js';
import { userDn } from './support/directory-data.js';
import { Slapd } from './support/slapd.js';
import { extendCacheEndTimes } from './support/ccache.js';
import { mappingFile } from './support/mapping.js';
import { AD, SambaDc } from './support/samba.js';
import { startStack, type Stack } from './support/stack.js';
import { fieldsOn, totp } from './support/totp.js';

const SERVICE_HOST = 'gw.example.test';
const METRICS_TOKEN = 'metrics-secret-0123456789';
const OTHER_HOST = 'other.example.test';
const PASSWORDS: Record<string, string> = { alice: 'Al1ce!Pass', bob: 'B0b!Builder', carol: 'C4rol!Outside', gina: 'G1na!Locked', ivan: 'Iv4n!Expiring' };

interface GssClient {
  step(challenge: string): Promise<string>;
}
const gssapi = createRequire(import.meta.url)('kerberos') as { initializeClient(service: string, options: { mechOID: number }): Promise<GssClient>; GSS_MECH_OID_SPNEGO: number };

/**
 * As README asks of the service account: it supports AES (msDS-SupportedEncryptionTypes 24, "This
 * account supports Kerberos AES 128/256 bit encryption"), so its tickets and exported keys are AES
 * (without it Samba, as AD, issues RC4 tickets and exports the RC4 key alone).
 */
function serviceSupportsAes(dc: SambaDc): void {
  execFileSync('ldapmodify', ['-x', '-H', dc.url, '-D', `CN=Administrator,${AD.users}`, '-w', AD.adminPassword], {
    input: `dn: ${AD.serviceDn}\nchangetype: modify\nreplace: msDS-SupportedEncryptionTypes\nmsDS-SupportedEncryptionTypes: 24\n`,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
}

/** The KDC, the keytab and a credential cache per person, in a private folder. */
class Realm {
  readonly dir = mkdtempSync(join(tmpdir(), 'gw-krb5-'));
  readonly conf = join(this.dir, 'krb5.conf');
  readonly keytab = join(this.dir, 'http.keytab');
  /** HTTP/localhost's, for Chromium (a keytab holds the one service principal). */
  readonly localhostKeytab = join(this.dir, 'http-localhost.keytab');

  constructor(private readonly dc: SambaDc) {}

  setUp(): void {
    writeFileSync(
      this.conf,
      `[libdefaults]\n default_realm = ${AD.realm}\n dns_lookup_realm = false\n dns_lookup_kdc = false\n rdns = false\n[realms]\n ${AD.realm} = {\n  kdc = ${this.dc.address}\n }\n[domain_realm]\n .example.test = ${AD.realm}\n localhost = ${AD.realm}\n`,
    );
    serviceSupportsAes(this.dc);
    this.samba(['spn', 'add', `HTTP/${SERVICE_HOST}`, AD.serviceUser]);
    this.samba(['spn', 'add', `HTTP/${OTHER_HOST}`, 'bob']);
    // Chromium asks for a ticket to the name it canonicalised; localhost stays localhost.
    this.samba(['spn', 'add', 'HTTP/localhost', AD.serviceUser]);
    this.samba(['domain', 'exportkeytab', this.keytab, `--principal=HTTP/${SERVICE_HOST}`]);
    this.samba(['domain', 'exportkeytab', this.localhostKeytab, '--principal=HTTP/localhost']);
  }

  samba(args: string[]): void {
    execFileSync('samba-tool', [...args, '-s', this.dc.smbConf], { stdio: 'ignore' });
  }

  cache(username: string): string {
    return `FILE:${join(this.dir, `cc-${username}`)}`;
  }

  env(username: string): NodeJS.ProcessEnv {
    return { ...process.env, KRB5_CONFIG: this.conf, KRB5CCNAME: this.cache(username) };
  }

  kinit(username: string, lifetime?: string): void {
    execFileSync('kinit', [...(lifetime ? ['-l', lifetime] : []), `${username}@${AD.realm}`], { input: `${PASSWORDS[username]}\n`, env: this.env(username), stdio: ['pipe', 'ignore', 'pipe'] });
  }

  /** A SPNEGO token of this person for a service, made in this process (the gateway, in this process too, reads the same environment). */
  async token(username: string, host = SERVICE_HOST): Promise<string> {
    this.useCache(this.cache(username));
    const client = await gssapi.initializeClient(`HTTP@${host}`, { mechOID: gssapi.GSS_MECH_OID_SPNEGO });
    return client.step('');
  }

  /**
   * Points this process's GSSAPI client at a credential cache and the realm. The in-process
   * gateway reads the same environment: its own settings (krb5.conf laid over, kerberos/keytab.ts)
   * stay first.
   */
  useCache(cache: string): void {
    const overlay = (process.env.KRB5_CONFIG ?? '').split(':').find((file) => file.includes('gateway-kerberos-'));
    process.env.KRB5_CONFIG = [overlay, this.conf].filter(Boolean).join(':');
    process.env.KRB5CCNAME = cache;
  }

  destroy(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** curl --negotiate, as a browser with a ticket: asked for a 401 Negotiate, it answers with the ticket. */
async function curlNegotiate(realm: Realm, username: string, port: number, path: string, jar: string): Promise<{ status: number; headers: string; body: string }> {
  const { stdout } = await promisify(execFile)(
    'curl',
    ['-s', '-i', '--negotiate', '-u', ':', '--resolve', `${SERVICE_HOST}:${port}:127.0.0.1`, '-c', jar, '-b', jar, `http://${SERVICE_HOST}:${port}${path}`],
    { env: realm.env(username), encoding: 'utf8' },
  );
  // With --negotiate curl prints both answers: the 401 that asked, then the one to the ticket.
  const last = stdout.lastIndexOf('HTTP/1.1 ');
  const answer = stdout.slice(last);
  const split = answer.indexOf('\r\n\r\n');
  return { status: Number(answer.slice(9, 12)), headers: answer.slice(0, split), body: answer.slice(split + 4) };
}

function kerberosEnv(realm: Realm, dc: SambaDc): Record<string, string> {
  return {
    // README's Active Directory settings, pointed at the test domain controller.
    GATEWAY_LDAP_PRESET: 'activedirectory',
    GATEWAY_LDAP_URL: dc.url,
    GATEWAY_LDAP_BIND_DN: AD.serviceDn,
    GATEWAY_LDAP_BIND_PASSWORD: AD.servicePassword,
    GATEWAY_LDAP_USER_BASE: AD.users,
    GATEWAY_LDAP_GROUP_BASE: '',
    GATEWAY_LDAP_ALLOWED_GROUPS: 'paperless-users',
    GATEWAY_KERBEROS: 'on',
    GATEWAY_KERBEROS_KEYTAB_FILE: realm.keytab,
    GATEWAY_KERBEROS_SERVICE_PRINCIPAL: `HTTP/${SERVICE_HOST}`,
    GATEWAY_KERBEROS_REALMS: AD.realm,
    GATEWAY_KERBEROS_REPLAY_CACHE_DIR: realm.dir,
    // A token held back past it is refused at once, not five minutes later.
    GATEWAY_KERBEROS_CLOCK_SKEW: '1s',
  };
}

// One domain controller and realm for the file: each part starts its own gateway on it.
const dc = new SambaDc({ kdc: true });
const realm = new Realm(dc);
before(async () => {
  await dc.start();
  realm.setUp();
  for (const username of ['alice', 'bob', 'carol', 'gina', 'ivan']) realm.kinit(username);
});
after(async () => {
  await dc.destroy();
  realm.destroy();
});

describe('Kerberos sign-in (SPNEGO) against Samba AD\'s KDC', () => {
  let stack: Stack;
  before(async () => {
    // PAPERLESS_ENABLE_HTTP_REMOTE_USER_API, as README asks for apps and scripts.
    stack = await startStack({ env: { ...kerberosEnv(realm, dc), GATEWAY_METRICS_TOKEN: METRICS_TOKEN }, sim: { enableRemoteUserApi: true } });
  });
  after(async () => stack?.stop());

  const login = (headers: Array<[string, string]> = []) => stack.browser().get('/accounts/login/?next=/documents/', { headers });

  it('without a ticket: 401 offering Negotiate, and the normal sign-in form as its body', async () => {
    const page = await login();
    assert.equal(page.status, 401);
    assert.equal(page.headers['www-authenticate'], 'Negotiate');
    assert.match(page.body, /<form method="post" action="\/accounts\/login\/"/);
    assert.match(page.body, /name="password"/);
  });

  it('with a ticket (curl --negotiate): signed in as the person, sent to next, and Paperless sees them', async () => {
    const jar = join(realm.dir, 'jar-alice');
    const answer = await curlNegotiate(realm, 'alice', stack.gateway.port, '/accounts/login/?next=/documents/', jar);
    assert.equal(answer.status, 303, answer.headers);
    assert.match(answer.headers, /\r\nlocation: \/documents\/\r\n/i);
    const session = /\tgateway_session\t(\S+)/.exec(readFileSync(jar, 'utf8'))?.[1];
    assert.ok(session, 'a gateway session cookie');
    const documents = await stack.browser().get('/documents/', { headers: [['Cookie', `gateway_session=${session}`]] });
    assert.match(documents.body, /id="user">alice</);
    assert.ok(stack.gateway.logs.some((l) => l.includes('"event":"kerberos.accepted"') && l.includes('"principal":"alice@EXAMPLE.TEST"')));
    // As after a right password: this address is alice's own, so a ban of her name by someone guessing elsewhere leaves it open.
    const redis = new Redis(stack.redis.url);
    try {
      assert.equal(await redis.exists('gateway:rl:known:alice|127.0.0.1'), 1);
    } finally {
      redis.disconnect();
    }
  });

  it('a person in no allowed group is refused with the reason, as after a password', async () => {
    const page = await login([['Authorization', `Negotiate ${await realm.token('carol')}`]]);
    assert.equal(page.status, 403);
    assert.match(page.body, /not allowed to use Paperless/);
    assert.equal(page.headers['www-authenticate'], undefined, 'no new challenge: the browser would only loop');
  });

  it('a disabled account: its ticket, issued before, is refused (the directory no longer lists it)', async () => {
    const token = await realm.token('gina');
    realm.samba(['user', 'disable', 'gina']);
    const page = await login([['Authorization', `Negotiate ${token}`]]);
    assert.equal(page.status, 403);
    assert.match(page.body, /does not know \(or whose account is disabled\)/);
  });

  it('an account that expired after its ticket was issued is refused, as its bind would be', async () => {
    // The service ticket, got while the account was good, stays in ivan's cache.
    await realm.token('ivan');
    realm.samba(['user', 'setexpiry', 'ivan', '--days=0']);
    await new Promise((r) => setTimeout(r, 50));
    const page = await login([['Authorization', `Negotiate ${await realm.token('ivan')}`]]);
    assert.equal(page.status, 403, stack.gateway.logs.filter((l) => l.includes('login.failure')).slice(-1).join(''));
    assert.match(page.body, /cannot sign in right now/);
    assert.ok(stack.gateway.logs.some((l) => l.includes('signed in by ticket, but the account has expired')));
  });

  it('a ticket for another service, a token sent twice, and a token past its time are refused; the form is shown', async () => {
    const other = await login([['Authorization', `Negotiate ${await realm.token('bob', OTHER_HOST)}`]]);
    assert.equal(other.status, 401, other.body);
    assert.match(other.body, /Kerberos sign-in of your computer was not accepted/);

    const token = await realm.token('bob');
    assert.equal((await login([['Authorization', `Negotiate ${token}`]])).status, 303, 'the first time');
    const replay = await login([['Authorization', `Negotiate ${token}`]]);
    assert.equal(replay.status, 401);
    assert.match(replay.body, /Kerberos sign-in of your computer was not accepted/);

    // Made, then held back past the second of clock skew the test's krb5.conf allows: its
    // authenticator is out of time (a ticket past its end has a test of its own, below).
    const late = await realm.token('bob');
    await new Promise((r) => setTimeout(r, 3000));
    const stale = await login([['Authorization', `Negotiate ${late}`]]);
    assert.equal(stale.status, 401);
    assert.ok(stack.gateway.logs.some((l) => l.includes('"event":"login.failure"') && l.includes('"via":"kerberos"') && /skew/i.test(l)), 'the log says why');
  });

  it('garbage gets a clear 400 and the gateway lives on; NTLM (no ticket on a Windows client) gets the form', async () => {
    for (const token of ['!!!not-base64', 'YWJjZGVm', 'Zm9v'.repeat(20)]) {
      const page = await login([['Authorization', `Negotiate ${token}`]]);
      assert.equal(page.status, 400, `${token}: ${page.status}`);
      assert.match(page.body, /cannot read/);
    }
    const ntlm = await login([['Authorization', `Negotiate ${Buffer.from('NTLMSSP\0\x01\0\0\0').toString('base64')}`]]);
    assert.equal(ntlm.status, 200);
    assert.match(ntlm.body, /name="password"/);
    assert.equal((await login()).status, 401, 'still alive, still offering Negotiate');
  });

  it('the API: curl --negotiate is admitted as Basic is; the 401 offers Negotiate beside Token to scripts, not to browsers', async () => {
    const answer = await curlNegotiate(realm, 'bob', stack.gateway.port, '/api/ui_settings/', join(realm.dir, 'jar-api'));
    assert.equal(answer.status, 200, `${answer.headers}\n${answer.body}`);
    assert.equal((JSON.parse(answer.body) as { user: { username: string } }).user.username, 'bob', 'Paperless saw bob');
    assert.ok(!/gateway_session/.test(readFileSync(join(realm.dir, 'jar-api'), 'utf8')), 'no session: a ticket per request');
    // Mutual authentication (RFC 4559): the answer carries the acceptor's final token.
    assert.match(answer.headers, /\r\nwww-authenticate: Negotiate [A-Za-z0-9+/]+=*(\r\n|$)/i);
    // The next call's ticket is accepted afresh, but the person it names is remembered: no second look-up and provisioning.
    const kerberosSignIns = async () => Number(/gateway_logins_total\{outcome="success",via="kerberos"\} (\d+)/.exec((await stack.browser().get('/_gateway/metrics', { headers: [['Authorization', `Bearer ${METRICS_TOKEN}`]] })).body)?.[1] ?? 0);
    const before = await kerberosSignIns();
    const again = await curlNegotiate(realm, 'bob', stack.gateway.port, '/api/ui_settings/', join(realm.dir, 'jar-api'));
    assert.equal(again.status, 200);
    assert.equal(await kerberosSignIns(), before, 'admitted from memory');

    const script = await stack.browser().request('GET', '/api/documents/', { typed: true });
    assert.equal(script.status, 401);
    assert.deepEqual(script.headers['www-authenticate'], 'Token, Negotiate', 'one challenge each');
    const browser = await stack.browser().request('GET', '/api/documents/', { typed: true, headers: [['Sec-Fetch-Mode', 'cors']] });
    assert.equal(browser.headers['www-authenticate'], 'Token', 'a browser is not asked for Kerberos on every call');
    // An <img> of another site over plain http: no Fetch Metadata, no Origin, no HTML; a browser all the same.
    const image = await stack.browser().request('GET', '/api/documents/1/thumb/', { typed: true, headers: [['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64)'], ['Accept', 'image/*,*/*;q=0.8']] });
    assert.equal(image.headers['www-authenticate'], 'Token', 'never asked for a ticket another site could have it send');

    const api = (token: string, headers: Array<[string, string]> = [], method = 'GET') => stack.browser().request(method, '/api/documents/', { typed: true, headers: [['Authorization', `Negotiate ${token}`], ...headers] });
    const carol = await api(await realm.token('carol'));
    assert.equal(carol.status, 403);
    assert.match(carol.body, /not allowed to use Paperless/);
    const garbage = await api('!!!');
    assert.equal(garbage.status, 400);
    const foreign = await api(await realm.token('bob'), [['Origin', 'https://evil.example']], 'POST');
    assert.equal(foreign.status, 403);
    assert.match(foreign.body, /CSRF Failed: Origin checking failed - https:\/\/evil.example/);
  });

  it('only a page load is asked for a ticket; another site cannot opt a browser in or out; a ticket past Node\'s 16 KiB of headers still arrives', async () => {
    const image = await login([['Sec-Fetch-Dest', 'image'], ['Sec-Fetch-Site', 'cross-site']]);
    assert.equal(image.status, 200);
    assert.equal(image.headers['www-authenticate'], undefined);
    // Over plain http browsers send no Fetch Metadata: an image asks for no HTML.
    const mozilla = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0';
    const plainImage = await login([['User-Agent', mozilla], ['Accept', 'image/avif,image/webp,image/*,*/*;q=0.8']]);
    assert.equal(plainImage.headers['www-authenticate'], undefined);
    const plainPage = await login([['User-Agent', mozilla], ['Accept', 'text/html,application/xhtml+xml,*/*;q=0.8']]);
    assert.equal(plainPage.headers['www-authenticate'], 'Negotiate', 'a page load is asked');
    const b = stack.browser();
    assert.equal((await b.get('/accounts/login/?kerberos=off')).status, 200);
    const lured = await b.get('/accounts/login/?kerberos=on', { headers: [['Referer', 'https://evil.example/'], ['Sec-Fetch-Site', 'cross-site']] });
    assert.equal(lured.status, 200, 'still opted out');
    assert.ok(!(lured.headers['set-cookie'] ?? []).some((c) => c.startsWith('gateway_kerberos=')), 'the opt-out cookie untouched');
    // A link without a referrer (rel=noreferrer) brings no evidence of this site: no opting back in.
    const bare = await b.request('GET', '/accounts/login/?kerberos=on', { typed: true });
    assert.equal(bare.status, 200, 'still opted out');
    const big = await login([['Authorization', `Negotiate YII${'A'.repeat(20_000)}`]]);
    assert.ok(big.status === 400 || big.status === 401, `read and refused by the gateway, not 431 from Node: ${big.status}`);
    assert.match(big.body, /Kerberos sign-in/);
  });

  it('a token\'s authenticator is the same however it is wrapped: SPNEGO or the bare Kerberos token inside', async () => {
    const spnego = Buffer.from(await realm.token('alice'), 'base64');
    // The Kerberos OID comes first in the list of mechanisms offered, then opens the token inside.
    const krb5 = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02]);
    const oid = spnego.indexOf(krb5, spnego.indexOf(krb5) + 1);
    assert.ok(oid > 0, 'a Kerberos token inside');
    // The inner token starts with 0x60 and its length, just before the OID.
    const start = [oid - 4, oid - 3, oid - 2].find((i) => spnego[i] === 0x60);
    assert.ok(start !== undefined);
    const bare = spnego.subarray(start);
    const outer = authenticatorOf(spnego);
    assert.ok(outer && outer.length > 16, 'found in the SPNEGO token');
    assert.deepEqual(authenticatorOf(bare), outer);
    assert.notDeepEqual(authenticatorOf(Buffer.from(await realm.token('alice'), 'base64')), outer, 'each token its own');
  });

  it('check-config: the keytab holds the service principal, or says how to fix it', async () => {
    const config = (principal: string) => ({ keytab: { file: realm.keytab }, servicePrincipal: principal, realms: [AD.realm], replayCacheDir: realm.dir, clockSkewMs: 300_000 });
    const ok = await kerberosCheck(config(`HTTP/${SERVICE_HOST}`));
    assert.equal(ok.status, 'ok', ok.detail);
    assert.match(ok.detail, /holds HTTP\/gw\.example\.test@EXAMPLE\.TEST, key version \d+: .*aes256-cts-hmac-sha1-96/);
    // The keys as MIT's klist reads the same file.
    const listed = execFileSync('klist', ['-k', '-e', realm.keytab], { encoding: 'utf8' })
      .split('\n')
      .flatMap((line) => {
        const m = /^\s*(\d+) (\S+) \((?:DEPRECATED:)?(\S+)\)/.exec(line);
        return m ? [`${m[1]} ${m[2]} ${m[3]}`] : [];
      });
    assert.ok(listed.length >= 2, listed.join('\n'));
    assert.deepEqual(keytabEntries(readFileSync(realm.keytab)).map((e) => `${e.kvno} ${e.components.join('/')}@${e.realm} ${enctypeName(e.enctype)}`), listed);
    const wrong = await kerberosCheck(config(`HTTP/${OTHER_HOST}`));
    assert.equal(wrong.status, 'fail');
    assert.match(wrong.fix ?? '', /exportkeytab --principal=HTTP\/other\.example\.test/);
  });

  it('"sign in as someone else" opts this browser out; signing out does too; and the way back', async () => {
    const b = stack.browser();
    const off = await b.get('/accounts/login/?kerberos=off');
    assert.equal(off.status, 200);
    assert.equal(off.headers['www-authenticate'], undefined);
    assert.equal((await b.get('/accounts/login/')).status, 200, 'the cookie keeps it so');
    assert.match((await b.get('/accounts/login/')).body, /Sign in with this computer/);
    assert.equal((await b.get('/accounts/login/?kerberos=on')).status, 401);
    // A cookie of the name another host of the site planted (on a longer path, so sent first) does not undo an opt-out.
    assert.equal((await login([['Cookie', 'gateway_kerberos=on; gateway_kerberos=off']])).status, 200);

    // Signed in by a ticket, then out: the next visit shows the form, so Paperless's polling does not sign the person back in.
    const person = stack.browser();
    const signedIn = await person.get('/accounts/login/', { headers: [['Authorization', `Negotiate ${await realm.token('alice')}`]] });
    assert.equal(signedIn.status, 303);
    const confirm = await person.get('/accounts/logout/');
    const out = confirm.status === 303 ? confirm : await person.post('/accounts/logout/', fieldsOn(confirm.body, ['_csrf']));
    assert.equal(out.status, 303);
    assert.equal((await person.get('/accounts/login/')).status, 200, 'no Negotiate after signing out');
  });
});

describe('Kerberos sign-in in Chromium', () => {
  let stack: Stack;
  let browser: BrowserContext;
  before(async () => {
    stack = await startStack({ publicHost: 'localhost', env: { ...kerberosEnv(realm, dc), GATEWAY_KERBEROS_SERVICE_PRINCIPAL: 'HTTP/localhost', GATEWAY_KERBEROS_KEYTAB_FILE: realm.localhostKeytab, GATEWAY_PROVISIONING_FILE: mappingFile() } });
    // The person's ticket cache and realm, as a domain-joined PC has them; the allowlist is the
    // command-line form of the AuthServerAllowlist policy.
    browser = await chromium.launchPersistentContext(mkdtempSync(join(realm.dir, 'chromium-')), {
      executablePath: '/usr/bin/chromium',
      env: realm.env('alice') as Record<string, string>,
      args: ['--no-sandbox', '--disable-gpu', '--auth-server-allowlist=localhost'],
    });
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('signs in without a password and lands in Paperless as the person, with their groups', async () => {
    const page = await browser.newPage();
    const signIn = `http://localhost:${stack.gateway.port}/accounts/login/?next=/documents/`;
    // Chromium on Linux loads GSSAPI only once it has met a Negotiate challenge (Local State's
    // received_http_auth_negotiate_headers): the first one in a new profile shows the form.
    await page.goto(signIn);
    await page.goto(signIn);
    await page.waitForURL((url) => url.pathname === '/documents/', { timeout: 10_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${stack.gateway.logs.filter((l) => /kerberos|login\.failure/.test(l)).join('\n')}`);
    });
    assert.equal(await page.locator('#user').textContent(), 'alice');
    // The mapping's groups and flags, as after a password: alice is in paperless-admins and paperless-users.
    const alice = stack.sim.users.find((u) => u.username === 'alice');
    assert.ok(alice?.is_superuser, 'paperless-admins: a superuser');
    const groupNames = stack.sim.groups.filter((g) => alice.groups.includes(g.id)).map((g) => g.name).sort();
    assert.deepEqual(groupNames, ['Admins', 'Staff']);
    assert.ok(stack.gateway.logs.some((l) => l.includes('"event":"kerberos.accepted"') && l.includes('"principal":"alice@EXAMPLE.TEST"')));
  });
});

describe('Kerberos: a ticket past its end', () => {
  // A second domain controller (the same domain, so the same service key) whose clock runs eleven
  // hours behind, under Debian's faketime, and kinit beside it: its tickets, ten hours long, ended
  // an hour ago. Samba's KDC issues none short enough to run out during a test.
  const EARLIER = '-11h';
  const past = new SambaDc({ kdc: true, clockOffset: EARLIER });
  let stack: Stack;
  before(async () => {
    await past.start();
    stack = await startStack({ env: kerberosEnv(realm, dc) });
  });
  after(async () => {
    await stack?.stop();
    await past.destroy();
  });

  it('is refused as expired (not as a stale token): the form, and the log says why', async () => {
    serviceSupportsAes(past);
    execFileSync('samba-tool', ['spn', 'add', `HTTP/${SERVICE_HOST}`, AD.serviceUser, '-s', past.smbConf], { stdio: 'ignore' });
    const conf = join(realm.dir, 'krb5-past.conf');
    writeFileSync(conf, readFileSync(realm.conf, 'utf8').replace(`kdc = ${dc.address}`, `kdc = ${past.address}`));
    const cache = join(realm.dir, 'cc-bob-past');
    const env = { ...process.env, KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${cache}` };
    execFileSync('faketime', ['-f', EARLIER, 'kinit', `bob@${AD.realm}`], { input: `${PASSWORDS.bob}\n`, env, stdio: ['pipe', 'ignore', 'pipe'] });
    execFileSync('faketime', ['-f', EARLIER, 'kvno', `HTTP/${SERVICE_HOST}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    // MIT's client sends no ticket it believes expired: its cache is told the tickets last.
    extendCacheEndTimes(cache);
    realm.useCache(`FILE:${cache}`);
    const client = await gssapi.initializeClient(`HTTP@${SERVICE_HOST}`, { mechOID: gssapi.GSS_MECH_OID_SPNEGO });
    // Made now: its authenticator is fresh, its ticket is not.
    const token = await client.step('');
    const page = await stack.browser().get('/accounts/login/', { headers: [['Authorization', `Negotiate ${token}`]] });
    assert.equal(page.status, 401);
    assert.match(page.body, /Kerberos sign-in of your computer was not accepted/);
    assert.equal(page.headers['www-authenticate'], undefined, 'no new challenge');
    assert.ok(stack.gateway.logs.some((l) => l.includes('"event":"login.failure"') && l.includes('"via":"kerberos"') && /Ticket expired/i.test(l)), stack.gateway.logs.filter((l) => l.includes('kerberos')).join('\n'));
  });
});

describe('Kerberos with a keytab that does not hold the service principal', () => {
  it('the gateway does not start, and says which settings to check', async () => {
    await assert.rejects(startStack({ env: { ...kerberosEnv(realm, dc), GATEWAY_KERBEROS_SERVICE_PRINCIPAL: `HTTP/${OTHER_HOST}` } }), /GATEWAY_KERBEROS_KEYTAB_FILE \/ GATEWAY_KERBEROS_SERVICE_PRINCIPAL: the keytab holds no key of HTTP\/other\.example\.test/);
  });

  it('nor with keys of another realm, which GSSAPI takes for the host but no ticket of the realm decrypts with', async () => {
    const file = join(realm.dir, 'other-realm.keytab');
    execFileSync('ktutil', [], { input: `addent -password -p HTTP/${SERVICE_HOST}@OTHER.TEST -k 2 -e aes256-cts-hmac-sha1-96\nS3cret!\nwkt ${file}\nquit\n`, stdio: ['pipe', 'ignore', 'ignore'] });
    const env = { ...kerberosEnv(realm, dc), GATEWAY_KERBEROS_KEYTAB: readFileSync(file).toString('base64') };
    delete (env as Record<string, string | undefined>).GATEWAY_KERBEROS_KEYTAB_FILE;
    await assert.rejects(startStack({ env }), /GATEWAY_KERBEROS_KEYTAB_FILE \/ GATEWAY_KERBEROS_SERVICE_PRINCIPAL: the keytab's keys of HTTP\/gw\.example\.test are for OTHER\.TEST, not EXAMPLE\.TEST; check with klist -k -e/);
  });
});

describe('Kerberos sign-in with a required second factor', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { ...kerberosEnv(realm, dc), GATEWAY_MFA: 'required', GATEWAY_MFA_KEY: 'ab'.repeat(32), GATEWAY_MFA_ENROLMENT: 'first-login' } });
  });
  after(async () => stack?.stop());

  it('the ticket is the first factor: the second is still asked, and the session says how the person proved it', async () => {
    const b = stack.browser();
    const first = await b.get('/accounts/login/', { headers: [['Authorization', `Negotiate ${await realm.token('alice')}`]] });
    assert.equal(first.status, 303);
    assert.equal(first.headers.location, '/accounts/login/enrol/');
    assert.equal((await b.get('/documents/')).status, 302, 'not signed in yet');
    const enrol = await b.get('/accounts/login/enrol/');
    const secret = /data-value="([A-Z2-7 ]+)"/.exec(enrol.body)?.[1]?.replaceAll(' ', '') ?? '';
    assert.ok(secret, 'the key is shown');
    const done = await b.post('/accounts/login/enrol/', { ...fieldsOn(enrol.body, ['_csrf', 'enrolment']), code: totp(secret) });
    assert.equal(done.status, 200, done.body.slice(0, 300));
    assert.match((await b.get('/documents/')).body, /id="user">alice</);
    assert.ok(stack.gateway.logs.some((l) => l.includes('"proof":"kerberos+enrolment"')), 'proof kerberos+enrolment');
  });
});

/** DER: a tag, its length (in the long form when `longForm`), then the content. */
function der(tag: number, content: Buffer, longForm = false): Buffer {
  const n = content.length;
  const length = longForm ? Buffer.from([0x84, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]) : n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

/** A bare Kerberos GSS token whose AP-REQ carries this authenticator ciphertext (and nothing a KDC made). */
function apReqToken(cipher: string, spelling: 'der' | 'long-lengths' | 'decoy' = 'der'): string {
  const longForm = spelling === 'long-lengths';
  const krb5 = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02]);
  const encryptedData = (bytes: string) => der(0x30, Buffer.concat([der(0xa0, der(0x02, Buffer.from([18]))), der(0xa2, der(0x04, Buffer.from(bytes)))]));
  const head = Buffer.concat([der(0xa0, der(0x02, Buffer.from([5]))), der(0xa1, der(0x02, Buffer.from([14]))), der(0xa2, der(0x03, Buffer.from([0, 0, 0, 0, 0]))), der(0xa3, der(0x61, der(0x30, Buffer.alloc(0))))]);
  // The decoy (a review's attack): the real [4] in the high-tag-number form (bf 04), which GSSAPI
  // reads as [4], then a second [4] a walk taking one-byte tags would find instead.
  const authenticator =
    spelling === 'decoy'
      ? Buffer.concat([Buffer.from([0xbf, 0x04]), der(0xff, encryptedData(cipher)).subarray(1), der(0xa4, encryptedData('decoy'))])
      : der(0xa4, encryptedData(cipher));
  const apReq = der(0x6e, der(0x30, Buffer.concat([head, authenticator]), longForm), longForm);
  return der(0x60, Buffer.concat([krb5, Buffer.from([0x01, 0x00]), apReq]), longForm).toString('base64');
}

describe('Kerberos: what a ticket outlives, outside Active Directory', () => {
  const slapd = new Slapd({ ppolicy: true });
  let directory: LdapDirectory;
  before(async () => {
    await slapd.start();
    await slapd.seed();
    directory = new LdapDirectory(loadConfig({ ...baseEnv({ ldapUrl: slapd.url, redisUrl: 'redis://127.0.0.1:1', upstreamUrl: 'http://127.0.0.1:1', port: 1 }) }).ldap);
  });
  after(async () => {
    await directory?.close();
    await slapd.destroy();
  });

  it('an OpenLDAP account the password policy locked is restricted (a ticket sign-in refuses it), and the attributes other directories keep are asked for alike', async () => {
    // Locked for good, as ppolicy writes it after too many wrong passwords without a lockout duration.
    await slapd.ldapadd(`dn: ${userDn('bob')}\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n`, true, ['-e', 'relax']);
    assert.equal((await directory.lookup('bob'))?.restricted, 'the account is locked by the password policy');
    const alice = await directory.lookup('alice');
    assert.equal(alice?.restricted, undefined);
    assert.equal(alice?.nameAsStored, 'alice');
    const entry = (attributes: Record<string, string>) => ({ dn: 'uid=x,dc=example,dc=org', ...attributes });
    assert.equal(accountRestriction('freeipa', entry({ nsAccountLock: 'TRUE' }), Date.now()), 'the account is disabled');
    assert.equal(accountRestriction('custom', entry({ krbPrincipalExpiration: '20200101000000Z' }), Date.now()), 'the Kerberos principal has expired');
    assert.equal(accountRestriction('freeipa', entry({ krbPrincipalExpiration: '20990101000000Z', nsAccountLock: 'FALSE' }), Date.now()), undefined);
    assert.equal(accountRestriction('lldap', entry({ pwdAccountLockedTime: '000001010000Z' }), Date.now()), undefined, 'lldap keeps none');
  });
});

describe('Kerberos settings and the Negotiate header, without a KDC', () => {
  const base = () => baseEnv({ ldapUrl: 'ldap://127.0.0.1:1', redisUrl: 'redis://127.0.0.1:1', upstreamUrl: 'http://127.0.0.1:1', port: 1 });

  it('on without a keytab or realms stops the start naming each variable; realms are taken as written (they are case-sensitive); the clock skew is bounded; the principal defaults to HTTP/<public host>', () => {
    assert.throws(
      () => loadConfig({ ...base(), GATEWAY_KERBEROS: 'on' }),
      (err: unknown) => err instanceof ConfigError && /GATEWAY_KERBEROS_KEYTAB_FILE: is required/.test(err.message) && /GATEWAY_KERBEROS_REALMS: is required/.test(err.message),
    );
    assert.throws(() => loadConfig({ ...base(), GATEWAY_KERBEROS: 'on', GATEWAY_KERBEROS_KEYTAB_FILE: '/nonexistent/http.keytab', GATEWAY_KERBEROS_REALMS: 'EXAMPLE.COM' }), /GATEWAY_KERBEROS_KEYTAB_FILE: cannot read \/nonexistent\/http.keytab: no such file/);
    assert.throws(() => loadConfig({ ...base(), GATEWAY_KERBEROS: 'on', GATEWAY_KERBEROS_KEYTAB: 'AAEC', GATEWAY_KERBEROS_REALMS: 'EXAMPLE.COM=EXAMPLE' }), /GATEWAY_KERBEROS_REALMS: must be a realm name/);
    assert.throws(() => loadConfig({ ...base(), GATEWAY_LDAP_PRESET: 'activedirectory', GATEWAY_LDAP_USERNAME_ATTRIBUTE: 'employeeID', GATEWAY_KERBEROS: 'on', GATEWAY_KERBEROS_KEYTAB: 'AAEC', GATEWAY_KERBEROS_REALMS: 'EXAMPLE.COM' }), /GATEWAY_LDAP_USERNAME_ATTRIBUTE: must be sAMAccountName \(or unset\) while GATEWAY_KERBEROS is on/);
    assert.throws(() => loadConfig({ ...base(), GATEWAY_KERBEROS: 'on', GATEWAY_KERBEROS_KEYTAB: 'AAEC', GATEWAY_KERBEROS_REALMS: 'EXAMPLE.COM, OTHER.COM' }), /GATEWAY_KERBEROS_REALMS: takes one realm: .*two realms may each have an alice/);
    assert.throws(() => loadConfig({ ...base(), GATEWAY_KERBEROS: 'on', GATEWAY_KERBEROS_KEYTAB: 'not base64!', GATEWAY_KERBEROS_REALMS: 'EXAMPLE.COM' }), /GATEWAY_KERBEROS_KEYTAB: must be the keytab file in base64/);
    assert.throws(() => loadConfig({ ...base(), GATEWAY_KERBEROS: 'on', GATEWAY_KERBEROS_KEYTAB: 'AAEC', GATEWAY_KERBEROS_REALMS: 'EXAMPLE.COM', GATEWAY_KERBEROS_CLOCK_SKEW: '2h' }), /GATEWAY_KERBEROS_CLOCK_SKEW: must be between 1s and 1h/);
    // A realm's case that would refuse every ticket, quietly: said at start.
    assert.throws(() => loadConfig({ ...base(), GATEWAY_LDAP_PRESET: 'activedirectory', GATEWAY_KERBEROS: 'on', GATEWAY_KERBEROS_KEYTAB: 'AAEC', GATEWAY_KERBEROS_REALMS: 'example.com' }), /GATEWAY_KERBEROS_REALMS: must be in upper case on Active Directory \(its realm is the domain in upper case: EXAMPLE.COM\)/);
    assert.throws(() => loadConfig({ ...base(), GATEWAY_KERBEROS: 'on', GATEWAY_KERBEROS_KEYTAB: 'AAEC', GATEWAY_KERBEROS_REALMS: 'example.com', GATEWAY_KERBEROS_SERVICE_PRINCIPAL: 'HTTP/gw.example.com@EXAMPLE.COM' }), /GATEWAY_KERBEROS_REALMS: is example.com, but GATEWAY_KERBEROS_SERVICE_PRINCIPAL's realm is EXAMPLE.COM: realms are case-sensitive/);
    const config = loadConfig({ ...base(), GATEWAY_PUBLIC_URL: 'https://Paperless.Example.com', GATEWAY_KERBEROS: 'on', GATEWAY_KERBEROS_KEYTAB: 'BQIAAAA=', GATEWAY_KERBEROS_REALMS: 'example.com' });
    assert.deepEqual(config.kerberos?.realms, ['example.com']);
    assert.equal(config.kerberos?.clockSkewMs, 300_000, 'Kerberos\'s five minutes by default');
    assert.equal(config.kerberos?.servicePrincipal, 'HTTP/paperless.example.com');
    assert.equal(loadConfig(base()).kerberos, undefined, 'off by default');
  });

  it('reads Negotiate in any case; refuses an empty, oversized or non-base64 token; tells NTLM apart', () => {
    assert.deepEqual(negotiateHeader(undefined), { kind: 'none' });
    assert.deepEqual(negotiateHeader('Basic YWJj'), { kind: 'none' });
    assert.deepEqual(negotiateHeader('negotiate YII='), { kind: 'token', token: 'YII=' });
    assert.throws(() => negotiateHeader('Negotiate oYIB'), MalformedNegotiateError, 'no SPNEGO initial token: refused before GSSAPI');
    // YIIBAg== and YIIBAh== decode alike: only the canonical spelling, or a replay could be re-spelled past the check.
    assert.deepEqual(negotiateHeader('Negotiate YIIBAg=='), { kind: 'token', token: 'YIIBAg==' });
    assert.throws(() => negotiateHeader('Negotiate YIIBAh=='), MalformedNegotiateError);
    assert.deepEqual(negotiateHeader(`Negotiate ${Buffer.from('NTLMSSP\0\x01').toString('base64')}`), { kind: 'ntlm' });
    for (const bad of ['Negotiate', 'Negotiate   ', 'Negotiate a b', 'Negotiate ***', `Negotiate ${'A'.repeat(64 * 1024)}`]) assert.throws(() => negotiateHeader(bad), MalformedNegotiateError, bad);
  });

  it('the acceptor: a token another replica accepted is a replay; only the allowed realm is recorded; a keytab that fails is a refusal, not a crash', async () => {
    const accepted = new Set<string>();
    const firstAccepted = async (hash: string) => !accepted.has(hash) && Boolean(accepted.add(hash));
    const gss = (fail?: string, principal = 'alice@EXAMPLE.COM') => ({
      initializeServer: async () => {
        if (fail) throw new Error(fail);
        return { username: principal, response: '', contextComplete: false, async step(this: { contextComplete: boolean }) { this.contextComplete = true; return ''; } };
      },
    });
    const one = new Negotiator(gss(), 'HTTP/gw.example.test', ['EXAMPLE.COM'], firstAccepted);
    const other = new Negotiator(gss(), 'HTTP/gw.example.test', ['EXAMPLE.COM'], firstAccepted);
    assert.deepEqual(await one.accept(apReqToken('token'), '192.0.2.1'), { principal: 'alice@EXAMPLE.COM', username: 'alice', realm: 'EXAMPLE.COM' });
    await assert.rejects(other.accept(apReqToken('token'), '192.0.2.1'), /a replay: another replica accepted this token already/);
    // Re-spelled as GSSAPI still reads it (lengths with leading zeros; the real [4] in the high-tag-number
    // form beside a decoy [4]): the walk could find another authenticator than GSSAPI, so it is refused.
    for (const spelling of ['long-lengths', 'decoy'] as const) {
      assert.notEqual(apReqToken('token', spelling), apReqToken('token'));
      await assert.rejects(other.accept(apReqToken('token', spelling), '192.0.2.1'), /not a Kerberos AP-REQ the gateway can read/, spelling);
    }
    // SPNEGO around it: the same authenticator; a mechToken hidden inside mechTypes (an older MIT
    // steps past mechTypes by its SEQUENCE OF alone, and would take that one) is refused.
    const spnego = (mechTypes: Buffer, inner: string) => der(0x60, Buffer.concat([der(0x06, Buffer.from([0x2b, 0x06, 0x01, 0x05, 0x05, 0x02])), der(0xa0, der(0x30, Buffer.concat([der(0xa0, mechTypes), der(0xa2, der(0x04, Buffer.from(inner, 'base64')))])))])).toString('base64');
    const krb5Oid = der(0x06, Buffer.from([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02]));
    await assert.rejects(other.accept(spnego(der(0x30, krb5Oid), apReqToken('token')), '192.0.2.1'), /a replay/, 'wrapped, the same authenticator');
    const hidden = Buffer.concat([der(0x30, krb5Oid), der(0xa2, der(0x04, Buffer.from(apReqToken('token'), 'base64')))]);
    await assert.rejects(other.accept(spnego(hidden, apReqToken('decoy')), '192.0.2.1'), /not a Kerberos AP-REQ the gateway can read/);
    // A token whose authenticator cannot be found could be replayed past that record: refused before GSSAPI.
    let asked = 0;
    const counting = { initializeServer: async () => { asked += 1; return gss().initializeServer(); } };
    for (const unreadable of ['YII=', Buffer.from([0x60, 0x85, 0, 0, 0, 0, 0x06]).toString('base64')]) {
      await assert.rejects(new Negotiator(counting, 'HTTP/gw.example.test', ['EXAMPLE.COM'], firstAccepted).accept(unreadable, '192.0.2.1'), /not a Kerberos AP-REQ the gateway can read/);
    }
    assert.equal(asked, 0);
    // Someone of another realm (a trusted one) is refused before anything is written where every replica sees it.
    const recorded = accepted.size;
    await assert.rejects(new Negotiator(gss(undefined, 'mallory@OTHER.COM'), 'HTTP/gw.example.test', ['EXAMPLE.COM'], firstAccepted).accept(apReqToken('other'), '192.0.2.1'), /realm OTHER.COM/);
    assert.equal(accepted.size, recorded);
    await assert.rejects(new Negotiator(gss('No key table entry found'), 'HTTP/gw.example.test', ['EXAMPLE.COM']).accept(apReqToken('x'), '192.0.2.1'), (err: unknown) => err instanceof NegotiateRefusedError && /keytab cannot accept/.test(err.message));
  });

  it('one person\'s tickets bring at most 300 tokens a minute: each is written to Redis, and at the page makes a session', async () => {
    const gss = (principal: string) => ({ initializeServer: async () => ({ username: principal, response: '', contextComplete: false, async step(this: { contextComplete: boolean }) { this.contextComplete = true; return ''; } }) });
    let recorded = 0;
    const seen = new Set<string>();
    const negotiator = new Negotiator(gss('alice@EXAMPLE.COM'), 'HTTP/gw.example.test', ['EXAMPLE.COM'], async (hash) => !seen.has(hash) && Boolean(seen.add(hash)) && Boolean(++recorded));
    // Replays another replica refused spend nothing of the person's budget.
    await negotiator.accept(apReqToken('once'), '192.0.2.1');
    for (let i = 0; i < 20; i += 1) await assert.rejects(negotiator.accept(apReqToken('once'), '192.0.2.1'), /a replay/);
    for (let i = 1; i < 300; i += 1) await negotiator.accept(apReqToken(`alice-${i}`), `192.0.2.${i % 200}`);
    await assert.rejects(negotiator.accept(apReqToken('alice-300'), '198.51.100.1'), (err: unknown) => err instanceof NegotiateBusyError && /more than 300 Kerberos tokens of alice@EXAMPLE.COM in a minute/.test(err.message));
    assert.equal(recorded, 300, 'the one over the budget is not recorded');
    // Any case is the same person (Active Directory's principals fold case): no second budget.
    let name = 'bob@EXAMPLE.COM';
    const cased = new Negotiator({ initializeServer: async () => gss(name).initializeServer() }, 'HTTP/gw.example.test', ['EXAMPLE.COM'], async () => true);
    for (let i = 0; i < 300; i += 1) await cased.accept(apReqToken(`bob-${i}`), '192.0.2.1');
    name = 'BOB@EXAMPLE.COM';
    await assert.rejects(cased.accept(apReqToken('BOB'), '192.0.2.1'), NegotiateBusyError);
  });

  it('the acceptor\'s turns: one at a time, the rest wait in order; one address holds at most two, so others are still served', async () => {
    const releases: Array<() => void> = [];
    const gss = {
      initializeServer: async () => ({ username: 'alice@EXAMPLE.COM', response: '', contextComplete: false, async step(this: { contextComplete: boolean }) { await new Promise<void>((resolve) => releases.push(resolve)); this.contextComplete = true; return ''; } }),
    };
    const negotiator = new Negotiator(gss, 'HTTP/gw.example.test', ['EXAMPLE.COM']);
    const flood = [negotiator.accept(apReqToken('a'), '198.51.100.7'), negotiator.accept(apReqToken('b'), '198.51.100.7')];
    // Its /64 is one address: a host cannot take a share per address it makes up.
    await assert.rejects(negotiator.accept(apReqToken('c'), '198.51.100.7'), NegotiateBusyError);
    await assert.rejects(Promise.all([negotiator.accept(apReqToken('d'), '2001:db8::1'), negotiator.accept(apReqToken('e'), '2001:db8::2'), negotiator.accept(apReqToken('f'), '2001:db8::3')]), NegotiateBusyError);
    const neighbour = negotiator.accept(apReqToken('g'), '203.0.113.9');
    const order: string[] = [];
    void neighbour.then(() => order.push('neighbour'));
    void flood[1]?.then(() => order.push('second'));
    while (releases.length < 1) await new Promise((r) => setImmediate(r));
    assert.equal(releases.length, 1, 'one GSSAPI call at a time');
    for (let done = 0; done < 5; done += 1) {
      while (releases.length <= done) await new Promise((r) => setTimeout(r, 1));
      releases[done]?.();
    }
    await Promise.all([...flood, neighbour]);
    assert.deepEqual(order, ['second', 'neighbour'], 'in the order they came');
  });

  it('a keytab given inline is written to a private folder, removed at a clean stop, and one a killed gateway left is removed at the next start', () => {
    const parent = mkdtempSync(join(tmpdir(), 'gw-keytab-'));
    try {
      // A process id nothing runs under (above Linux's pid_max), this running process's, and a
      // dead one of another host (a container sharing the folder: its ids mean nothing here).
      const dead = join(parent, `gateway-kerberos-${hostname()}-4194399-abcdef`);
      const live = join(parent, `gateway-kerberos-${hostname()}-${process.pid}-defghi`);
      const elsewhere = join(parent, 'gateway-kerberos-another-container-4194399-ghijkl');
      // Another host whose name starts with this one's and a dash (gw and gw-2): its folder, not this host's.
      const longer = join(parent, `gateway-kerberos-${hostname()}-2-4194399-jklmno`);
      for (const dir of [dead, live, elsewhere, longer]) {
        mkdirSync(dir, { mode: 0o700 });
        writeFileSync(join(dir, 'service.keytab'), 'key', { mode: 0o600 });
      }
      const env: NodeJS.ProcessEnv = {};
      const undo = useKeytab({ keytab: { bytes: Buffer.from([5, 2]) }, servicePrincipal: 'HTTP/gw.example.test', realms: ['EXAMPLE.COM'], replayCacheDir: parent, clockSkewMs: 300_000 }, env);
      assert.ok(!existsSync(dead), 'the killed gateway\'s keytab is gone');
      assert.ok(existsSync(live), 'a running gateway\'s is kept');
      assert.ok(existsSync(elsewhere), 'another host\'s is kept');
      assert.ok(existsSync(longer), 'and one of a host whose name begins with this one\'s');
      assert.match(readFileSync(join(dirname((env.KRB5_CONFIG ?? '').split(':')[0] ?? ''), 'krb5.conf'), 'utf8'), /ignore_acceptor_hostname = false\n  clockskew = 300\n/);
      const file = (env.KRB5_KTNAME ?? '').replace(/^FILE:/, '');
      assert.equal(statSync(dirname(file)).mode & 0o777, 0o700);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      undo();
      assert.ok(!existsSync(file));
      assert.equal(env.KRB5_KTNAME, undefined);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('a keytab whose keys of the principal cannot decrypt a ticket: only single DES or another realm stops the start; RC4 alone is a warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-keytab-'));
    try {
      const make = (principal: string, enctype: string): Buffer => {
        const file = join(dir, `${enctype}.keytab`);
        rmSync(file, { force: true });
        execFileSync('ktutil', [], { input: `addent -password -p ${principal} -k 3 -e ${enctype}\nS3cret!\nwkt ${file}\nquit\n`, stdio: ['pipe', 'ignore', 'ignore'] });
        return readFileSync(file);
      };
      const principal = 'HTTP/gw.example.test';
      const aes = make(`${principal}@EXAMPLE.COM`, 'aes256-cts-hmac-sha1-96');
      assert.deepEqual(judgeKeytab(aes, principal, 'EXAMPLE.COM'), { status: 'ok', detail: 'the keytab holds HTTP/gw.example.test@EXAMPLE.COM, key version 3: aes256-cts-hmac-sha1-96' });
      const rc4 = make(`${principal}@EXAMPLE.COM`, 'arcfour-hmac');
      assert.equal(judgeKeytab(rc4, principal, 'EXAMPLE.COM').status, 'warn');
      assert.match(judgeKeytab(rc4, principal, 'EXAMPLE.COM').detail, /arcfour-hmac; no AES key/);
      assert.match(judgeKeytab(aes, principal, 'OTHER.COM').detail, /are for EXAMPLE.COM, not OTHER.COM/);
      // Beside the service's key: the same host in another realm (whose KDC could issue tickets naming anyone) stops the start,
      // the domain's krbtgt too, another principal is a warning.
      const joined = (...keytabs: Buffer[]) => Buffer.concat([keytabs[0]?.subarray(0, 2) ?? Buffer.alloc(0), ...keytabs.map((k) => k.subarray(2))]);
      const lab = make(`${principal}@LAB.TEST`, 'aes256-cts-hmac-sha1-96');
      assert.match(judgeKeytab(joined(aes, lab), principal, 'EXAMPLE.COM').detail, /also holds HTTP\/gw.example.test@LAB.TEST: a ticket that realm's KDC issues could name anyone of EXAMPLE.COM/);
      assert.equal(judgeKeytab(joined(aes, lab), principal, 'EXAMPLE.COM').status, 'fail');
      const krbtgt = make('krbtgt/EXAMPLE.COM@EXAMPLE.COM', 'aes256-cts-hmac-sha1-96');
      assert.equal(judgeKeytab(joined(aes, krbtgt), principal, 'EXAMPLE.COM').status, 'fail');
      assert.match(judgeKeytab(joined(aes, krbtgt), principal, 'EXAMPLE.COM').detail, /krbtgt keys/);
      const alias = make('HTTP/paperless@EXAMPLE.COM', 'aes256-cts-hmac-sha1-96');
      assert.deepEqual([judgeKeytab(joined(aes, alias), principal, 'EXAMPLE.COM').status, judgeKeytab(joined(aes, alias), principal, 'EXAMPLE.COM').detail], ['warn', 'the keytab holds HTTP/gw.example.test@EXAMPLE.COM, key version 3: aes256-cts-hmac-sha1-96; it also holds keys of HTTP/paperless@EXAMPLE.COM, which the gateway does not use']);
      assert.match(judgeKeytab(aes, 'HTTP/other.example.test', 'EXAMPLE.COM').detail, /holds no key of HTTP\/other.example.test@EXAMPLE.COM \(it holds HTTP\/gw.example.test@EXAMPLE.COM\)/);
      // ktutil makes no single-DES key any more: the RC4 entry's type, rewritten (after the name, name type, timestamp and 8-bit version).
      const des = Buffer.from(rc4);
      const at = 2 + 4 + 2 + (2 + 'EXAMPLE.COM'.length) + (2 + 'HTTP'.length) + (2 + 'gw.example.test'.length) + 4 + 4 + 1;
      assert.equal(des.readUInt16BE(at), 23, 'arcfour-hmac where the type is');
      des.writeUInt16BE(3, at);
      const desVerdict = judgeKeytab(des, principal, 'EXAMPLE.COM');
      assert.equal(desVerdict.status, 'fail');
      assert.equal(desVerdict.detail, 'the keytab\'s keys of HTTP/gw.example.test@EXAMPLE.COM are all of types MIT Kerberos no longer decrypts with (des-cbc-md5): export AES keys');
      assert.match(desVerdict.fix ?? '', /This account supports Kerberos AES 256 bit encryption/);
      assert.equal(judgeKeytab(Buffer.from([5, 1, 0, 0]), principal, 'EXAMPLE.COM').status, 'fail', 'a keytab of another format');
      assert.match(judgeKeytab(aes.subarray(0, aes.length - 10), principal, 'EXAMPLE.COM').detail, /runs past the end/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the API remembers a ticket\'s person for the cache time, but not past a re-check that found them gone', async () => {
    const verdicts = new Map<string, { active: boolean; reason: string }>();
    let verified = 0;
    const step = createApiClientStep({
      verify: async () => { throw new Error('not Basic'); },
      tokenValid: async () => false,
      tokenCache: new CredentialCache<true>(60_000),
      tokenOwners: { ownerOf: async () => { throw new Error('no tokens'); } },
      tokenPeople: new CredentialCache<{ username: string | null }>(60_000),
      isDirectoryPerson: async () => true,
      recheck: { recent: (username: string) => verdicts.get(username), person: async () => undefined } as unknown as Parameters<typeof createApiClientStep>[0]['recheck'],
      negotiate: {
        accept: async () => ({ username: 'bob', realm: 'EXAMPLE.COM', response: 'oYG0' }),
        verify: async (username: string) => {
          verified += 1;
          if (verdicts.get(username)?.active === false) throw new NotAllowedError(username, 'gone');
          return { username, dn: `uid=${username},dc=example,dc=com`, groups: [] };
        },
        people: new CredentialCache<string>(60_000),
      },
      publicUrl: new URL('https://paperless.example.com'),
      ipOf: () => '192.0.2.9',
      log: pino({ level: 'silent' }),
    });
    const call = (token: string) => step({ req: { method: 'GET', headers: { authorization: `Negotiate ${token}` } } as unknown as IncomingMessage, path: '/api/documents/', to: { kind: 'http', res: {} as ServerResponse } });
    assert.deepEqual(await call(apReqToken('one')), { kind: 'user', username: 'bob', via: 'kerberos', answer: 'Negotiate oYG0' });
    assert.deepEqual(await call(apReqToken('two')), { kind: 'user', username: 'bob', via: 'kerberos', answer: 'Negotiate oYG0' });
    assert.equal(verified, 1, 'the second from memory');
    verdicts.set('bob', { active: false, reason: 'no longer in an allowed group' });
    const refused = await call(apReqToken('gone'));
    assert.equal(refused?.kind, 'refuse');
    assert.equal(verified, 2, 'asked again, and refused');
  });

  it('a principal signs in by the name before the @, from a listed realm only, and never as a service', () => {
    assert.equal(signInNameOf('alice@EXAMPLE.COM', ['EXAMPLE.COM']), 'alice');
    // Realms are case-sensitive; names a directory would fold into another's are refused.
    for (const refused of ['alice@example.com', 'alice@OTHER.COM', 'alice', '@EXAMPLE.COM', 'HTTP/host@EXAMPLE.COM', ' alice@EXAMPLE.COM', 'ａｌｉｃｅ@EXAMPLE.COM', 'ali\\@ce@EXAMPLE.COM']) {
      assert.throws(() => signInNameOf(refused, ['EXAMPLE.COM']), NegotiateRefusedError, refused);
    }
    assert.equal(gssServiceName('HTTP/Paperless.Example.com@EXAMPLE.COM'), 'HTTP@paperless.example.com');
  });
});
