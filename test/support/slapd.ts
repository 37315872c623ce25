import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_DN, ADMIN_PASSWORD, BASE_DN, directoryLdif } from './directory-data.js';
import { freePort, waitForPort } from './ports.js';
import { stopChild } from './process.js';

/**
 * A private OpenLDAP server (Debian's slapd) with the memberof and refint
 * overlays. Data is loaded with ldapadd while it runs: slapadd would bypass
 * the overlays and leave memberOf empty.
 */
export class Slapd {
  private process?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'gw-slapd-'));
  port = 0;
  tlsPort = 0;
  host = '127.0.0.1';

  /** With `tls`, a self-signed CA and server certificate (for 127.0.0.1) are made and ldaps:// is served too. */
  /**
   * `schema`: extra schema text (e.g. FreeIPA's nsAccountLock); `memberOf`: which group class the
   * memberof overlay follows (groupOfNames/member by default, LLDAP uses groupOfUniqueNames/uniqueMember).
   */
  /**
   * `stats`: slapd logs every operation (its `stats` level), so a test can count the binds that
   * reached it (`binds`).
   */
  /**
   * `certificateNames`: the names the server certificate is for (its subjectAltName; default
   * 127.0.0.1 and localhost), to test a gateway that reaches the server by another name;
   * `certificateExpired`: a server certificate that expired in 2020.
   * `limits`: slapd.conf `limits` lines (e.g. a size limit for the service account), `sizeLimit`
   * the server-wide `sizelimit` (slapd's default is 500).
   */
  constructor(
    private readonly options: {
      tls?: boolean;
      schema?: string;
      memberOf?: 'groupOfNames' | 'groupOfUniqueNames';
      ppolicy?: boolean;
      stats?: boolean;
      certificateNames?: string[];
      certificateExpired?: boolean;
      limits?: string[];
      sizeLimit?: string;
    } = {},
  ) {}

  /** slapd's log since it started, with `stats`. */
  private statsLog = '';

  /** Simple binds as `dn` that reached this server (needs `stats`). */
  binds(dn: string): number {
    if (!this.options.stats) throw new Error('Slapd counts binds only with { stats: true }');
    return this.statsLog.split('\n').filter((line) => line.includes(` BIND dn="${dn}" method=128`)).length;
  }

  /** The default password policy's DN when `ppolicy` is on (its entry is loaded by the test). */
  static readonly POLICY_DN = `cn=default,ou=policies,${BASE_DN}`;

  get url(): string {
    return `ldap://${this.host}:${this.port}`;
  }

  get ldapsUrl(): string {
    return `ldaps://${this.host}:${this.tlsPort}`;
  }

  get caFile(): string {
    return join(this.dir, 'ca.pem');
  }

  private makeCertificates(): string {
    const d = this.dir;
    const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'ignore' });
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Test CA', '-keyout', 'ca.key', '-out', 'ca.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
    const names = (this.options.certificateNames ?? ['127.0.0.1', 'localhost']).map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`));
    writeFileSync(join(d, 'ext.cnf'), `subjectAltName=${names.join(',')}\nextendedKeyUsage=serverAuth\n`);
    if (this.options.certificateExpired) {
      // `openssl x509` cannot date a certificate in the past; `openssl ca` can.
      writeFileSync(join(d, 'index.txt'), '');
      writeFileSync(join(d, 'serial'), '01\n');
      writeFileSync(join(d, 'ca.cnf'), `[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n[ext]\n${readFileSync(join(d, 'ext.cnf'), 'utf8')}`);
      ssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'server.csr', '-out', 'server.pem', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extensions', 'ext', '-notext']);
    } else ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'server.pem', '-extfile', 'ext.cnf']);
    return `TLSCACertificateFile ${join(d, 'ca.pem')}\nTLSCertificateFile ${join(d, 'server.pem')}\nTLSCertificateKeyFile ${join(d, 'server.key')}\n`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    if (this.options.tls && this.tlsPort === 0) this.tlsPort = await freePort();
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    const tls = this.options.tls ? (existsSync(join(this.dir, 'server.pem')) ? readFileSync(join(this.dir, 'tls.conf'), 'utf8') : this.makeCertificates()) : '';
    if (tls) writeFileSync(join(this.dir, 'tls.conf'), tls);
    const conf = join(this.dir, 'slapd.conf');
    const extraSchema = this.options.schema ? join(this.dir, 'extra.schema') : '';
    if (this.options.schema) writeFileSync(extraSchema, this.options.schema);
    const unique = this.options.memberOf === 'groupOfUniqueNames';
    writeFileSync(
      conf,
      `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
${extraSchema ? `include ${extraSchema}\n` : ''}${tls}modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint
${this.options.ppolicy ? 'moduleload ppolicy\n' : ''}pidfile ${join(this.dir, 'slapd.pid')}
${this.options.sizeLimit ? `sizelimit ${this.options.sizeLimit}\n` : ''}database mdb
maxsize 104857600
suffix "${BASE_DN}"
rootdn "${ADMIN_DN}"
rootpw ${ADMIN_PASSWORD}
directory ${join(this.dir, 'data')}
${(this.options.limits ?? []).map((l) => `limits ${l}\n`).join('')}overlay memberof
memberof-group-oc ${unique ? 'groupOfUniqueNames' : 'groupOfNames'}
memberof-member-ad ${unique ? 'uniqueMember' : 'member'}
memberof-memberof-ad memberOf
memberof-refint TRUE
overlay refint
refint_attributes member uniqueMember
${this.options.ppolicy ? `overlay ppolicy\nppolicy_default "${Slapd.POLICY_DN}"\nppolicy_hash_cleartext\nppolicy_use_lockout\n` : ''}access to attrs=userPassword by anonymous auth by self write by * none
access to * by users read by anonymous auth
`,
    );
    const listeners = [this.url + '/', ...(this.options.tls ? [this.ldapsUrl + '/'] : [])].join(' ');
    this.process = spawn('slapd', ['-d', this.options.stats ? 'stats' : '0', '-f', conf, '-h', listeners], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.process.stderr?.on('data', (d: Buffer) => {
      if (this.options.stats) this.statsLog += d.toString();
      else stderr += d.toString();
    });
    const exited = new Promise<never>((_, reject) => this.process?.once('exit', (code) => reject(new Error(`slapd exited with ${code}: ${this.options.stats ? this.statsLog.slice(-2000) : stderr}`))));
    const ready = Promise.all([waitForPort(this.port, this.host), ...(this.options.tls ? [waitForPort(this.tlsPort, this.host)] : [])]);
    await Promise.race([ready, exited]);
  }

  /** Loads LDIF through the running server, so overlays see every change. */
  /** `extra`: more ldapmodify options, e.g. `['-e', 'relax']` to set operational attributes such as pwdChangedTime. */
  async ldapadd(ldif: string, modify = false, extra: string[] = []): Promise<void> {
    await run(modify ? 'ldapmodify' : 'ldapadd', ['-x', '-H', this.url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD, ...extra], ldif);
  }

  async seed(ldif = directoryLdif()): Promise<void> {
    await this.ldapadd(ldif);
  }

  async stop(): Promise<void> {
    await stopChild(this.process, 'SIGTERM');
    this.process = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed (${code}): ${stderr}`))));
    p.stdin.end(input);
  });
}
