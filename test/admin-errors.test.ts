import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SERVICE_DN, userDn } from './support/directory-data.js';
import { execFileSync, spawn } from 'node:child_process';
import { loadConfig } from '../src/config/load.js';
import { LdapDirectory } from '../src/directory/ldap-directory.js';
import { baseEnv, freePort, DIST_MAIN, GatewayProcess, REPO_ROOT, runCliToEnd } from './support/gateway.js';
import { Browser } from './support/http-client.js';
import type { Browser as ChromiumBrowser } from 'playwright-core';
import { launchChromium } from './support/chromium.js';
import { Slapd } from './support/slapd.js';
import { startStack, startStackOn, type Stack, type UpstreamStack } from './support/stack.js';
import { upstreamKinds } from './support/upstream.js';
import { pollUntil } from './support/poll.js';

const METRICS_TOKEN = 'metrics-secret-0123456789';
const WRONG_BASE = 'ou=peple,dc=example,dc=com';

/** Starts a gateway on the stack's servers with other settings; stopped by the caller. */
async function gatewayWith(stack: Stack, env: Record<string, string>): Promise<GatewayProcess> {
  const port = await freePort();
  const gateway = new GatewayProcess({ ...stack.gateway.env, GATEWAY_PORT: String(port), GATEWAY_PUBLIC_URL: `http://127.0.0.1:${port}`, GATEWAY_METRICS_TOKEN: METRICS_TOKEN, ...env });
  await gateway.start();
  return gateway;
}

async function readiness(gateway: GatewayProcess): Promise<{ status: number; directory: { status: string; error?: string } }> {
  const res = await new Browser(gateway.url).get('/_gateway/ready', { headers: [['Authorization', `Bearer ${METRICS_TOKEN}`]] });
  return { status: res.status, directory: JSON.parse(res.body).checks.directory };
}

/** Waits for a log line matching `pattern` (the gateway logs asynchronously). */
async function logged(gateway: GatewayProcess, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const line = gateway.logs.find((l) => pattern.test(l));
    if (line) return line;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no log line matching ${pattern} in\n${gateway.logs.join('\n')}`);
}

/** Waits until `done` holds (log lines arrive asynchronously). */
async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(done(), 'condition not met in 5 s');
}

describe('a directory that does not fit the settings is named in the admin\'s words', () => {
  let stack: Stack;
  before(async () => {
    // The certificate is for localhost only: reaching the server as 127.0.0.1 is a name mismatch.
    stack = await startStack({ slapd: { tls: true, certificateNames: ['localhost'] } });
  });
  after(async () => stack?.stop());
  const ldapsAs = (host: string) => `ldaps://${host}:${stack.slapd.tlsPort}`;

  it('a user or group base that does not exist: check-config names the setting and what the directory holds, never NoSuchObjectError', async () => {
    const user = await runCliToEnd(['check-config'], { ...stack.gateway.env, GATEWAY_LDAP_USER_BASE: WRONG_BASE });
    assert.equal(user.code, 1, user.stdout);
    assert.match(user.stdout, /✘ directory: service account: GATEWAY_LDAP_USER_BASE "ou=peple,dc=example,dc=com" does not exist in the directory.*\n {4}fix: set GATEWAY_LDAP_USER_BASE to the DN of the entry that holds your users; this directory holds dc=example,dc=com\n/);
    const group = await runCliToEnd(['check-config'], { ...stack.gateway.env, GATEWAY_LDAP_GROUP_BASE: 'ou=grops,dc=example,dc=com' });
    assert.equal(group.code, 1, group.stdout);
    assert.match(group.stdout, /✘ directory: service account: GATEWAY_LDAP_GROUP_BASE "ou=grops,dc=example,dc=com" does not exist in the directory.*\n {4}fix: set GATEWAY_LDAP_GROUP_BASE to the DN of the entry that holds your groups/);
    for (const out of [user.stdout + user.stderr, group.stdout + group.stderr]) assert.doesNotMatch(out, /NoSuchObject|0x20/);
    const right = await runCliToEnd(['check-config'], stack.gateway.env);
    assert.match(right.stdout, /✔ directory: service account: bound in \d+ ms; the search bases exist/);
  });

  it('a user base that does not exist: readiness, the start-up log and a sign-in\'s log say so', async () => {
    const gateway = await gatewayWith(stack, { GATEWAY_LDAP_USER_BASE: WRONG_BASE });
    try {
      await logged(gateway, /"level":50.*GATEWAY_LDAP_USER_BASE \\"ou=peple,dc=example,dc=com\\" does not exist in the directory.*directory check failed at startup/);
      const ready = await readiness(gateway);
      assert.equal(ready.status, 503);
      assert.match(ready.directory.error ?? '', /^GATEWAY_LDAP_USER_BASE "ou=peple,dc=example,dc=com" does not exist in the directory .*: set GATEWAY_LDAP_USER_BASE to/);
      const reply = await new Browser(gateway.url).login('alice', 'alice-pass');
      assert.notEqual(reply.status, 302, 'no sign-in without a user base');
      const line = await logged(gateway, /"event":"login.failure"/);
      assert.match(line, /GATEWAY_LDAP_USER_BASE \\"ou=peple,dc=example,dc=com\\" does not exist/);
      assert.doesNotMatch(line, /NoSuchObject/);
    } finally {
      await gateway.stop();
    }
  });

  it('an LDAPS certificate signed by an unknown CA: "not trusted, set GATEWAY_LDAP_CA_FILE", never "no LDAP server answered" (check-config, readiness, sign-in log, sync)', async () => {
    const env = { ...stack.gateway.env, GATEWAY_LDAP_URL: ldapsAs('localhost') };
    for (const settings of [env, { ...stack.gateway.env, GATEWAY_LDAP_URL: `ldap://localhost:${stack.slapd.port}`, GATEWAY_LDAP_STARTTLS: 'true' }]) {
      const check = await runCliToEnd(['check-config'], settings);
      assert.equal(check.code, 1);
      assert.match(check.stdout, /✘ directory: service account: the directory's certificate is not trusted \(ldaps?:\/\/localhost:\d+: self-signed certificate in certificate chain\)\n {4}fix: set GATEWAY_LDAP_CA_FILE to the CA that signed it/);
      assert.doesNotMatch(check.stdout, /no LDAP server answered/);
    }
    const sync = await runCliToEnd(['sync', '--dry-run'], env);
    assert.notEqual(sync.code, 0);
    assert.match(sync.stdout + sync.stderr, /the directory's certificate is not trusted .*set GATEWAY_LDAP_CA_FILE to the CA that signed it/);
    const gateway = await gatewayWith(stack, { GATEWAY_LDAP_URL: ldapsAs('localhost') });
    try {
      assert.match((await readiness(gateway)).directory.error ?? '', /^the directory's certificate is not trusted .*: set GATEWAY_LDAP_CA_FILE to the CA that signed it/);
      await new Browser(gateway.url).login('alice', 'alice-pass');
      assert.match(await logged(gateway, /"event":"login.failure"/), /the directory's certificate is not trusted .*set GATEWAY_LDAP_CA_FILE/);
    } finally {
      await gateway.stop();
    }
  });

  it('a CA file that did not sign the certificate is named', async () => {
    const other = join(stack.slapd.dir, 'other-ca.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Other CA', '-keyout', join(stack.slapd.dir, 'other-ca.key'), '-out', other], { stdio: 'ignore' });
    const check = await runCliToEnd(['check-config'], { ...stack.gateway.env, GATEWAY_LDAP_URL: ldapsAs('localhost'), GATEWAY_LDAP_CA_FILE: other });
    assert.match(check.stdout, /the directory's certificate is not trusted .*\n {4}fix: GATEWAY_LDAP_CA_FILE \(.*other-ca\.pem\) does not hold the CA that signed it/);
  });

  it('a certificate for another name: the names it is for, and the settings that choose the name', async () => {
    const env = { ...stack.gateway.env, GATEWAY_LDAP_URL: ldapsAs('127.0.0.1'), GATEWAY_LDAP_CA_FILE: stack.slapd.caFile };
    const check = await runCliToEnd(['check-config'], env);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /✘ directory: service account: the directory's certificate is for localhost, not for 127\.0\.0\.1 \(ldaps:\/\/127\.0\.0\.1:\d+\)\n {4}fix: use a name the certificate is for in GATEWAY_LDAP_URL \(e\.g\. localhost\), or set GATEWAY_LDAP_TLS_SERVER_NAME to it/);
    const gateway = await gatewayWith(stack, { GATEWAY_LDAP_URL: ldapsAs('127.0.0.1'), GATEWAY_LDAP_CA_FILE: stack.slapd.caFile });
    try {
      assert.match((await readiness(gateway)).directory.error ?? '', /the directory's certificate is for localhost, not for 127\.0\.0\.1/);
    } finally {
      await gateway.stop();
    }
    for (const fixed of [{ GATEWAY_LDAP_URL: ldapsAs('localhost') }, { GATEWAY_LDAP_TLS_SERVER_NAME: 'localhost' }] as Array<Record<string, string>>) {
      const ok = await runCliToEnd(['check-config'], { ...env, ...fixed });
      assert.match(ok.stdout, /✔ directory: service account/, JSON.stringify(fixed));
    }
  });

  it('an expired certificate says so and where to renew it', async () => {
    const expired = new Slapd({ tls: true, certificateExpired: true });
    try {
      await expired.start();
      const check = await runCliToEnd(['check-config'], { ...stack.gateway.env, GATEWAY_LDAP_URL: `ldaps://localhost:${expired.tlsPort}`, GATEWAY_LDAP_CA_FILE: expired.caFile });
      assert.equal(check.code, 1);
      assert.match(check.stdout, /✘ directory: service account: the directory's certificate is not valid now \(ldaps:\/\/localhost:\d+: certificate has expired\)\n {4}fix: renew the certificate on the directory server/);
    } finally {
      await expired.destroy();
    }
  });

  it('GATEWAY_LDAP_TLS_SKIP_VERIFY=true is a warning in check-config and at start-up', async () => {
    const env = { GATEWAY_LDAP_URL: ldapsAs('127.0.0.1'), GATEWAY_LDAP_TLS_SKIP_VERIFY: 'true' };
    const check = await runCliToEnd(['check-config'], { ...stack.gateway.env, ...env });
    assert.match(check.stdout, /✔ directory: service account/);
    assert.match(check.stdout, /! directory: certificate: GATEWAY_LDAP_TLS_SKIP_VERIFY=true: the directory's certificate is not checked.*\n {4}fix: set GATEWAY_LDAP_CA_FILE to the CA that signed the certificate and remove GATEWAY_LDAP_TLS_SKIP_VERIFY/);
    const without = await runCliToEnd(['check-config'], { ...stack.gateway.env, GATEWAY_LDAP_URL: ldapsAs('localhost'), GATEWAY_LDAP_CA_FILE: stack.slapd.caFile });
    assert.doesNotMatch(without.stdout, /directory: certificate/);
    const gateway = await gatewayWith(stack, env);
    try {
      await logged(gateway, /"level":40.*GATEWAY_LDAP_TLS_SKIP_VERIFY.*LDAP TLS CERTIFICATES ARE NOT VERIFIED/);
    } finally {
      await gateway.stop();
    }
  });

  it('a provisioning mapping that grants nothing is a warning; one that grants something is not', async () => {
    const none = await runCliToEnd(['check-config'], stack.gateway.env);
    assert.match(none.stdout, /! provisioning mapping: the mapping \(GATEWAY_PROVISIONING_FILE\) grants no permission and no admin group: nobody will see a document or administer Paperless\n {4}fix: write the mapping \(README: "Provisioning Paperless"\) or run init/);
    const empty = join(stack.slapd.dir, 'empty-mapping.yaml');
    writeFileSync(empty, 'mirror_unmapped_groups: true\ngroups:\n  - ldap: paperless-users\n');
    assert.match((await runCliToEnd(['check-config'], { ...stack.gateway.env, GATEWAY_PROVISIONING_FILE: empty })).stdout, /! provisioning mapping/);
    for (const text of ['permissions: [viewer]\n', 'groups:\n  - ldap: paperless-admins\n    superuser: true\n', 'groups:\n  - ldap: paperless-users\n    permissions: [editor]\n']) {
      const file = join(stack.slapd.dir, 'mapping.yaml');
      writeFileSync(file, text);
      const out = await runCliToEnd(['check-config'], { ...stack.gateway.env, GATEWAY_PROVISIONING_FILE: file });
      assert.equal(out.code, 0, out.stdout);
      assert.doesNotMatch(out.stdout, /provisioning mapping/, text);
    }
  });
});

describe('sync against a directory that caps the service account', () => {
  let stack: Stack;
  const PEOPLE = 3000;
  before(async () => {
    // 1,000 entries for the service account, paged or not (OpenLDAP: size.prtotal follows the hard limit).
    stack = await startStack({ slapd: { limits: [`dn.exact="${SERVICE_DN}" size=1000`] } });
    const ldif = Array.from({ length: PEOPLE }, (_, i) => `dn: ${userDn(`p${i}`)}\nobjectClass: inetOrgPerson\nuid: p${i}\ncn: Person ${i}\nsn: Person\n`).join('\n');
    await stack.slapd.ldapadd(ldif);
  });
  after(async () => stack?.stop());

  it('says where the directory stopped the listing and what to allow the account, naming it', async () => {
    const res = await runCliToEnd(['sync', '--dry-run'], stack.gateway.env);
    assert.notEqual(res.code, 0);
    const out = res.stdout + res.stderr;
    assert.match(out, /the directory stopped the listing at its size limit for the service account cn=gateway,ou=services,dc=example,dc=com \(after 1000 entries under GATEWAY_LDAP_USER_BASE\)/);
    assert.match(out, /allow it more \(OpenLDAP: limits dn\.exact="cn=gateway,ou=services,dc=example,dc=com" size\.prtotal=unlimited; AD: MaxPageSize\)/);
    assert.doesNotMatch(out, /SizeLimitExceededError/);
  });
});

describe('listing many users once the directory allows it', () => {
  let slapd: Slapd;
  before(async () => {
    // README's line for the service account, with pages of at most 200 entries.
    slapd = new Slapd({ limits: [`dn.exact="${SERVICE_DN}" size=1000 size.pr=200 size.prtotal=unlimited`] });
    await slapd.start();
    await slapd.seed();
    await slapd.ldapadd(Array.from({ length: 3000 }, (_, i) => `dn: ${userDn(`p${i}`)}\nobjectClass: inetOrgPerson\nuid: p${i}\ncn: Person ${i}\nsn: Person\n`).join('\n'));
  });
  after(async () => slapd?.destroy());
  const directory = (env: Record<string, string> = {}) =>
    new LdapDirectory(loadConfig({ ...baseEnv({ ldapUrl: slapd.url, redisUrl: 'redis://127.0.0.1:1', upstreamUrl: 'http://127.0.0.1:1', port: 1 }), ...env }).ldap);

  it('pages larger than the directory allows are named with GATEWAY_LDAP_PAGE_SIZE', async () => {
    const listing = async () => {
      for await (const _ of directory().listUsers()) assert.fail('no page should arrive');
    };
    await assert.rejects(listing(), (err: Error) => {
      assert.equal(err.message, `the directory refuses pages of 500 entries for the service account ${SERVICE_DN}: lower GATEWAY_LDAP_PAGE_SIZE, or allow larger pages (OpenLDAP: limits dn.exact="${SERVICE_DN}" size.pr=500)`);
      return true;
    });
  });

  it('lists every user, page by page, with pages it allows', async () => {
    let listed = 0;
    for await (const _ of directory({ GATEWAY_LDAP_PAGE_SIZE: '200' }).listUsers()) listed++;
    assert.equal(listed, 3003);
  });
});

describe('a sign-in page opened at another address than GATEWAY_PUBLIC_URL', () => {
  let stack: Stack;
  let chromium: ChromiumBrowser;
  before(async () => {
    // The public URL names localhost; the gateway answers on 127.0.0.1 as well, as on a LAN address.
    [stack, chromium] = await Promise.all([startStack({ publicHost: 'localhost' }), launchChromium()]);
  });
  after(async () => {
    await chromium?.close();
    await stack?.stop();
  });
  const otherAddress = () => `http://127.0.0.1:${stack.gateway.port}`;
  const publicOrigin = () => `http://localhost:${stack.gateway.port}`;

  it('in Chromium: the refused post says where the page was opened and links to the public URL, where signing in works; the log names GATEWAY_PUBLIC_URL', async () => {
    const page = await chromium.newPage();
    try {
      await page.goto(`${otherAddress()}/accounts/login/?next=/documents/`);
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('alice-pass');
      const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Sign in' }).click()]);
      assert.equal(response.status(), 403);
      assert.equal(
        await page.getByRole('alert').textContent(),
        `This page was opened at ${otherAddress()}, which is not this site's address, so signing in here cannot work.`,
      );
      assert.equal(await page.locator('form').count(), 0, 'no form that cannot work');
      const link = page.getByRole('link', { name: `Sign in at ${publicOrigin()}` });
      assert.equal(await link.getAttribute('href'), `${publicOrigin()}/accounts/login/?next=%2Fdocuments%2F`);
      const line = await logged(stack.gateway, /"event":"login.wrong_address"/);
      assert.match(line, /"level":30/, 'info: what a client claims is no warning');
      assert.match(
        line,
        /a sign-in form was posted from a page the browser says was at http:\/\/127\.0\.0\.1:\d+, not GATEWAY_PUBLIC_URL http:\/\/localhost:\d+; if people use http:\/\/127\.0\.0\.1:\d+, link them to http:\/\/localhost:\d+ or set GATEWAY_PUBLIC_URL to what they type/,
      );
      await link.click();
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('alice-pass');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${publicOrigin()}/documents/`);
    } finally {
      await page.close();
    }
  });

  it('plain http on another address (no Sec-Fetch-Site): the Origin naming the host posted to says the same; the post is refused all the same', async () => {
    const b = new Browser(otherAddress());
    const form = await b.get('/accounts/login/');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
    const res = await b.post('/accounts/login/', { username: 'alice', password: 'alice-pass', _csrf: csrf }, { headers: [['Origin', otherAddress()]] });
    assert.equal(res.status, 403);
    assert.match(res.body, /This page was opened at http:\/\/127\.0\.0\.1:\d+, which is not this site&#39;s address/);
    assert.equal(res.headers.location, undefined);
    const after = await b.get('/documents/');
    assert.equal(after.status, 302, 'not signed in');
    assert.match(after.headers.location ?? '', /\/accounts\/login\//);
  });

  it('a client forging Host, Origin and Sec-Fetch-Site gets the notice, but the log says what it claimed, at info, once a minute per address and origin', async () => {
    const wrongAddressLines = () => stack.gateway.logs.filter((l) => /"event":"login.wrong_address"/.test(l) && l.includes('attacker.example'));
    const forged: Array<[string, string]> = [['Host', 'attacker.example'], ['Origin', 'https://attacker.example'], ['Sec-Fetch-Site', 'same-origin']];
    for (let i = 0; i < 3; i++) {
      const b = new Browser(publicOrigin());
      const res = await b.post('/accounts/login/', { username: 'alice', password: 'alice-pass' }, { headers: forged });
      assert.equal(res.status, 403);
      assert.match(res.body, /This page was opened at https:\/\/attacker\.example, which is not this site&#39;s address/);
    }
    const line = await logged(stack.gateway, /"event":"login.wrong_address".*attacker\.example/);
    assert.match(line, /"level":30/);
    assert.match(line, /the browser says was at https:\/\/attacker\.example, not GATEWAY_PUBLIC_URL http:\/\/localhost:\d+; if people use https:\/\/attacker\.example, link them to http:\/\/localhost:\d+ or set GATEWAY_PUBLIC_URL to what they type/);
    // The refused posts' audit lines (login.failure) are written alongside: once they are all in, so would a second wrong_address be.
    await waitFor(() => stack.gateway.logs.filter((l) => /"event":"login.failure"/.test(l) && l.includes('attacker.example')).length >= 3);
    assert.equal(wrongAddressLines().length, 1, wrongAddressLines().join('\n'));
    assert.equal(stack.gateway.logs.filter((l) => /"level":40/.test(l) && l.includes('attacker.example')).length, 0, 'no warning about a claimed address');
  });

  it('another site\'s post is still "expired or came from another site", whatever it claims', async () => {
    for (const headers of [
      [['Origin', 'http://evil.example'], ['Sec-Fetch-Site', 'cross-site']],
      [['Origin', 'http://evil.example']],
      // A forged page on another site cannot make the browser say same-origin, nor send our Host as its Origin.
      [['Origin', otherAddress()], ['Sec-Fetch-Site', 'cross-site']],
    ] as Array<Array<[string, string]>>) {
      const b = new Browser(publicOrigin());
      const form = await b.get('/accounts/login/');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
      const res = await b.post('/accounts/login/', { username: 'alice', password: 'alice-pass', _csrf: csrf }, { headers });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.match(res.body, /The sign-in form expired or came from another site/, JSON.stringify(headers));
      assert.doesNotMatch(res.body, /This page was opened at/);
    }
  });
});

describe('log lines on a terminal', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => stack?.stop());

  it("are pretty-printed alike by the main thread and the pages thread (a pseudo-terminal through util-linux's script)", async () => {
    const port = await freePort();
    const env = { ...stack.gateway.env, GATEWAY_PORT: String(port), GATEWAY_PUBLIC_URL: `http://127.0.0.1:${port}`, PATH: process.env.PATH ?? '', TERM: 'dumb' };
    const command = [process.execPath, DIST_MAIN, 'serve'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    try {
      for (let i = 0; i < 300 && !(output.includes('gateway listening') && output.includes('pages thread listening on loopback')); i++) await new Promise((r) => setTimeout(r, 50));
      // A line only the pages thread writes: a refused sign-in.
      await new Browser(`http://127.0.0.1:${port}`).login('alice', 'wrong');
      for (let i = 0; i < 100 && !output.includes('sign-in refused'); i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    }
    const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split(/\r?\n/).filter((l) => l.trim() !== '');
    const pages = lines.filter((l) => /pages thread listening on loopback|sign-in refused/.test(l));
    const main = lines.filter((l) => l.includes('gateway listening'));
    assert.equal(pages.length, 2, output);
    assert.equal(main.length, 1, output);
    for (const line of [...pages, ...main]) assert.match(line, /^\[\d\d:\d\d:\d\d\] INFO( \(\d+\))?: /, `pretty, not JSON: ${line}`);
    assert.deepEqual(lines.filter((l) => l.startsWith('{')), [], 'no JSON line on the terminal');
  });
});

/** Follows the gateway's and Paperless's redirects within the site, as a browser would; returns the last answer. */
async function follow(b: Browser, path: string): Promise<{ path: string; status: number; body: string }> {
  let at = path;
  for (let hops = 0; hops < 5; hops++) {
    const res = await b.get(at);
    if (res.status < 300 || res.status >= 400 || !res.headers.location) return { path: at, status: res.status, body: res.body };
    at = new URL(res.headers.location, b.base).pathname + new URL(res.headers.location, b.base).search;
  }
  assert.fail(`more than 5 redirects from ${path}`);
}

describe('Paperless with PAPERLESS_AUDIT_LOG_ENABLED=false (the simulator; contract §9)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ sim: { enableRemoteUserApi: true, auditLogEnabled: false } });
  });
  after(async () => stack?.stop());

  it('check-config names PAPERLESS_AUDIT_LOG_ENABLED when pages go to the login page while the API takes the header', async () => {
    const { code, stdout } = await runCliToEnd(['check-config'], stack.gateway.env);
    assert.equal(code, 1);
    assert.match(stdout, /✘ Paperless remote-user login: Paperless sends a page carrying Remote-User to its login page \(302\), although its API takes the header\n {4}fix: remove PAPERLESS_AUDIT_LOG_ENABLED=false from Paperless's settings/);
    assert.match(stdout, /✔ Paperless remote-user API/);
    stack.sim.options.auditLogEnabled = true;
    try {
      const fixed = await runCliToEnd(['check-config'], stack.gateway.env);
      assert.match(fixed.stdout, /✔ Paperless remote-user login/);
    } finally {
      stack.sim.options.auditLogEnabled = false;
    }
  });

  const refusalLines = () => stack.gateway.logs.filter((l) => /"event":"paperless.header_login_refused"/.test(l));

  // Before any real refusal: the warning is written at most once a minute, so after one this test could not fail.
  it('a signed-in person linked to /accounts/login/?next=/x by another site sees no such notice and no warning is logged', async () => {
    const b = stack.browser();
    assert.equal((await b.login('alice', 'alice-pass')).status, 303);
    for (const link of ['/accounts/login/?next=/x', '/accounts/login/?next=/x&paperless_refused=lzz0.AAAA', '/accounts/login/?next=/x&paperless_refused=']) {
      const page = await b.get(link, { headers: [['Referer', 'https://elsewhere.example/']] });
      assert.equal(page.status, 200, link);
      assert.match(page.body, /You are already signed in\./, link);
      assert.doesNotMatch(page.body, /paperless-refused|Paperless sent you back here/, link);
    }
    // The pages thread's lines reach the log in the order it writes them: once a line it wrote after these
    // pages is in, any line they made is in too (the main thread's are written at once).
    assert.equal((await stack.browser().login('no-such-person', 'wrong')).status, 401);
    await pollUntil(async () => stack.gateway.logs.some((l) => l.includes('"event":"login.failure"') && l.includes('"username":"no-such-person"')), 'the marker line did not come');
    assert.deepEqual(refusalLines(), []);
  });

  it('a signed-in person Paperless sends to its login page is told so each time, only in their own session; the log names the settings once a minute', async () => {
    const b = stack.browser();
    assert.equal((await b.login('alice', 'alice-pass')).status, 303);
    const landed = await follow(b, '/documents/');
    // Paperless's Location as it sent it (its `next` unescaped), with the forwarder's marker.
    assert.match(landed.path, /^\/accounts\/login\/\?next=\/documents\/&paperless_refused=[0-9a-z]+\.[\w-]+$/);
    assert.match(landed.body, /id="paperless-refused"[^>]*>Paperless sent you back here although you are signed in: it is not set up to accept this sign-in\. Please tell your administrator\.</);
    const line = await logged(stack.gateway, /"event":"paperless.header_login_refused"/);
    assert.match(line, /"level":40/);
    assert.match(line, /"username":"alice"/);
    assert.match(line, /"path":"\/documents\/"/);
    assert.match(line, /PAPERLESS_ENABLE_HTTP_REMOTE_USER=true and remove PAPERLESS_AUDIT_LOG_ENABLED=false/);

    const again = await follow(b, '/tags/');
    assert.match(again.body, /id="paperless-refused"/, 'the person is told every time');
    // The second refusal's page is served after the forwarder saw Paperless's answer: a line for it would be in by now.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(refusalLines().length, 1, 'the admin once a minute');

    // The marker is this session's: another signed-in person opening the same address is told nothing.
    const bob = stack.browser();
    assert.equal((await bob.login('bob', 'bob-pass')).status, 303);
    const borrowed = await bob.get(landed.path);
    assert.match(borrowed.body, /You are already signed in\./);
    assert.doesNotMatch(borrowed.body, /paperless-refused/);

    stack.sim.options.auditLogEnabled = true;
    try {
      assert.equal((await follow(b, '/documents/')).status, 200, 'Paperless takes the header again');
    } finally {
      stack.sim.options.auditLogEnabled = false;
    }
  });

  it('a signed-in person who opens the sign-in page themselves gets no such notice', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    const page = await b.get('/accounts/login/');
    assert.match(page.body, /You are already signed in\./);
    assert.doesNotMatch(page.body, /paperless-refused/);
  });
});

for (const kind of upstreamKinds()) {
  describe(`Paperless with header login off for pages (${kind})`, () => {
    let stack: UpstreamStack;
    before(async () => {
      stack = await startStackOn(kind, { upstream: { enableRemoteUser: false } });
    });
    after(async () => stack?.stop());

    it('check-config names both settings that stop it; a signed-in person sent back is told so', async () => {
      const { code, stdout } = await runCliToEnd(['check-config'], stack.gateway.env);
      assert.equal(code, 1);
      assert.match(stdout, /✘ Paperless remote-user login: .*\n {4}fix: set PAPERLESS_ENABLE_HTTP_REMOTE_USER=true .*PAPERLESS_AUDIT_LOG_ENABLED=false also stops header login for pages/);
      const b = stack.browser();
      assert.equal((await b.login('alice', 'alice-pass')).status, 303);
      const landed = await follow(b, '/documents/');
      assert.match(landed.path, /^\/accounts\/login\/\?next=[^&]+&paperless_refused=/);
      assert.match(landed.body, /id="paperless-refused"/);
      assert.match(await logged(stack.gateway, /"event":"paperless.header_login_refused"/), /"level":40/);
    });
  });
}
