import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_DN, ADMIN_PASSWORD, BASE_DN, directoryLdif } from './directory-data.js';
import { freePort, waitForPort } from './ports.js';

/**
 * A private OpenLDAP server (Debian's slapd) with the memberof and refint
 * overlays. Data is loaded with ldapadd while it runs: slapadd would bypass
 * the overlays and leave memberOf empty.
 */
export class Slapd {
  private process?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'gw-slapd-'));
  port = 0;
  host = '127.0.0.1';

  get url(): string {
    return `ldap://${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    const conf = join(this.dir, 'slapd.conf');
    writeFileSync(
      conf,
      `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint
pidfile ${join(this.dir, 'slapd.pid')}
database mdb
maxsize 104857600
suffix "${BASE_DN}"
rootdn "${ADMIN_DN}"
rootpw ${ADMIN_PASSWORD}
directory ${join(this.dir, 'data')}
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
overlay refint
refint_attributes member
access to attrs=userPassword by anonymous auth by self write by * none
access to * by users read by anonymous auth
`,
    );
    this.process = spawn('slapd', ['-d', '0', '-f', conf, '-h', this.url + '/'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.process.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) => this.process?.once('exit', (code) => reject(new Error(`slapd exited with ${code}: ${stderr}`))));
    await Promise.race([waitForPort(this.port, this.host), exited]);
  }

  /** Loads LDIF through the running server, so overlays see every change. */
  async ldapadd(ldif: string, modify = false): Promise<void> {
    await run(modify ? 'ldapmodify' : 'ldapadd', ['-x', '-H', this.url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], ldif);
  }

  async seed(ldif = directoryLdif()): Promise<void> {
    await this.ldapadd(ldif);
  }

  async stop(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
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
