import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from './ports.js';
import { stopChild } from './process.js';

/**
 * A private Samba Active Directory domain controller (Debian's samba,
 * `server services = ldap`) on a random 127.x.y.z address, so it never meets
 * slapd or anything else on 127.0.0.1. The domain is provisioned and seeded
 * once per machine (a cached snapshot, rebuilt when this file changes) and
 * copied for every instance, so tests may change it freely.
 */
export const AD = {
  realm: 'EXAMPLE.TEST',
  domain: 'EXAMPLE',
  base: 'DC=example,DC=test',
  users: 'CN=Users,DC=example,DC=test',
  adminPassword: 'Adm1n!Secret',
  serviceUser: 'svc-gateway',
  servicePassword: 'Svc!Gateway1',
  get serviceDn(): string {
    return `CN=${this.serviceUser},${this.users}`;
  },
} as const;

export interface AdUser {
  name: string;
  password: string;
  given: string;
  surname: string;
  groups: string[];
  extra?: string[];
  after?: string[][];
  /** Backdates pwdLastSet, which AD lets nobody set over LDAP (only 0 or -1). */
  passwordSetDaysAgo?: number;
}

export const AD_USERS: AdUser[] = [
  { name: 'alice', password: 'Al1ce!Pass', given: 'Alice', surname: 'Liddell', groups: ['paperless-users', 'paperless-admins'] },
  { name: 'bob', password: 'B0b!Builder', given: 'Bob', surname: 'Builder', groups: ['accounting-tax', 'loop-a'] },
  { name: 'carol', password: 'C4rol!Outside', given: 'Carol', surname: 'Outsider', groups: [] },
  { name: 'dave', password: 'D4ve!Disabled', given: 'Dave', surname: 'Disabled', groups: ['paperless-users'], after: [['user', 'disable', 'dave']] },
  { name: 'erin', password: 'Er1n!Change', given: 'Erin', surname: 'Change', groups: ['paperless-users'], extra: ['--must-change-at-next-login'] },
  { name: 'frank', password: 'Fr4nk!Expired', given: 'Frank', surname: 'Expired', groups: ['paperless-users'], after: [['user', 'setexpiry', 'frank', '--days=0']] },
  { name: 'gina', password: 'G1na!Locked', given: 'Gina', surname: 'Lockout', groups: ['paperless-users'] },
  // A fine-grained policy with a minimum password age: a change right after the last one is too soon.
  { name: 'heidi', password: 'He1di!Young', given: 'Heidi', surname: 'Young', groups: ['paperless-users'], after: [['domain', 'passwordsettings', 'pso', 'apply', 'young', 'heidi']] },
  // A policy whose passwords last ten days: always inside the expiry warning.
  { name: 'ivan', password: 'Iv4n!Expiring', given: 'Ivan', surname: 'Expiring', groups: ['paperless-users'], after: [['domain', 'passwordsettings', 'pso', 'apply', 'short-lived', 'ivan']] },
  // The same ten-day policy, last set thirty days ago: AD refuses her bind with 532 (expired).
  { name: 'judy', password: 'Jud1!Expired', given: 'Judy', surname: 'Expired', groups: ['paperless-users'], after: [['domain', 'passwordsettings', 'pso', 'apply', 'short-lived', 'judy']], passwordSetDaysAgo: 30 },
];

/** Groups by sAMAccountName whose cn differs: a comma that must be escaped in the DN. */
const GROUP_CNS: Record<string, string> = { 'accounting-tax': 'Accounting\\, Tax' };

/** Groups inside groups: `Accounting, Tax` sits in paperless-users; loop-a and loop-b contain each other. */
const NESTING: Array<[group: string, member: string]> = [
  ['paperless-users', 'accounting-tax'],
  ['loop-b', 'loop-a'],
  ['loop-a', 'loop-b'],
];

function snapshotScript(): string[][] {
  const groups = [...new Set([...AD_USERS.flatMap((u) => u.groups), ...NESTING.flat()])];
  return [
    // No minimum age in the domain, so tests may change passwords; the PSOs below add the rules some users need.
    ['domain', 'passwordsettings', 'set', '--account-lockout-threshold=3', '--account-lockout-duration=10', '--reset-account-lockout-after=10', '--min-pwd-age=0'],
    ['domain', 'passwordsettings', 'pso', 'create', 'young', '10', '--min-pwd-age=1'],
    ['domain', 'passwordsettings', 'pso', 'create', 'short-lived', '20', '--max-pwd-age=10', '--min-pwd-age=0'],
    ['user', 'create', AD.serviceUser, AD.servicePassword, '--use-username-as-cn'],
    ...groups.map((g) => ['group', 'add', g]),
    ...Object.entries(GROUP_CNS).map(([g, cn]) => ['group', 'rename', g, `--force-new-cn=${cn}`]),
    ...AD_USERS.map((u) => ['user', 'create', u.name, u.password, '--use-username-as-cn', `--given-name=${u.given}`, `--surname=${u.surname}`, `--mail-address=${u.name}@example.test`, ...(u.extra ?? [])]),
    ...AD_USERS.flatMap((u) => u.groups.map((g) => ['group', 'addmembers', g, u.name])),
    ...NESTING.map(([g, m]) => ['group', 'addmembers', g, m]),
    ...AD_USERS.flatMap((u) => u.after ?? []),
  ];
}

/**
 * Writes pwdLastSet straight into the stopped domain's partition file, below Samba's modules
 * (which allow only 0 and -1): the record is then what a DC holds for a password set days ago.
 * Samba's own Python bindings are those of Debian's python3, whatever python3 is first on PATH.
 */
function backdatePassword(work: string, name: string, days: number): void {
  const partition = join(work, 'private', 'sam.ldb.d', `${AD.base.toUpperCase()}.ldb`);
  const filetime = (BigInt(Date.now() - days * 86_400_000) + 11_644_473_600_000n) * 10_000n;
  const script = [
    'import ldb, sys',
    "db = ldb.Ldb(sys.argv[1], options=['modules:'])",
    "found = db.search(expression='(sAMAccountName=%s)' % sys.argv[2], attrs=['pwdLastSet'])",
    'assert len(found) == 1, found',
    'm = ldb.Message(found[0].dn)',
    "m['pwdLastSet'] = ldb.MessageElement(sys.argv[3], ldb.FLAG_MOD_REPLACE, 'pwdLastSet')",
    'db.modify(m)',
  ].join('\n');
  execFileSync('/usr/bin/python3', ['-c', script, partition, name, String(filetime)], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const PLACEHOLDER_ADDRESS = '127.254.254.254';

function buildSnapshot(target: string): void {
  const work = mkdtempSync(join(tmpdir(), 'gw-samba-build-'));
  try {
    execFileSync(
      'samba-tool',
      [
        'domain', 'provision', `--realm=${AD.realm}`, `--domain=${AD.domain}`, '--server-role=dc', '--dns-backend=NONE',
        `--adminpass=${AD.adminPassword}`, '--host-name=dc1', `--targetdir=${work}`, '--use-rfc2307',
      ],
      { stdio: 'ignore' },
    );
    const conf = join(work, 'etc', 'smb.conf');
    const settings = [
      `interfaces = ${PLACEHOLDER_ADDRESS}/8`,
      'bind interfaces only = yes',
      'server services = ldap',
      'ldap server require strong auth = no',
      `pid directory = ${join(work, 'run')}`,
      `log file = ${join(work, 'log.%m')}`,
    ];
    const text = readFileSync(conf, 'utf8')
      .split('\n')
      .filter((l) => !/^\s*(interfaces|bind interfaces only|server services|log file|logging)\s*=/.test(l))
      .join('\n')
      .replace('[global]', `[global]\n${settings.map((s) => `\t${s}`).join('\n')}`);
    writeFileSync(conf, text);
    for (const args of snapshotScript()) execFileSync('samba-tool', [...args, '-H', join(work, 'private', 'sam.ldb'), '-s', conf], { stdio: 'ignore' });
    for (const u of AD_USERS) if (u.passwordSetDaysAgo) backdatePassword(work, u.name, u.passwordSetDaysAgo);
    // Paths in smb.conf must name the snapshot's final place, which instances then rewrite to their own.
    writeFileSync(conf, readFileSync(conf, 'utf8').replaceAll(work, target));
    // Another test process may have finished first; either copy is the same domain.
    if (existsSync(target)) rmSync(work, { recursive: true, force: true });
    else renameSync(work, target);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

function snapshotDir(): string {
  const hash = createHash('sha256').update(readFileSync(new URL(import.meta.url))).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `paperless-gw-samba-${hash}`);
  if (!existsSync(dir)) buildSnapshot(dir);
  return dir;
}

export class SambaDc {
  private process?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), 'gw-samba-'));
  readonly address = `127.${randomInt(1, 250)}.${randomInt(0, 255)}.${randomInt(1, 254)}`;

  /**
   * `kdc`: Samba's Kerberos KDC too (port 88 on the same address), for tickets from `kinit`.
   * `clockOffset`: Samba runs under Debian's faketime (`-f`, e.g. `-11h`), its tickets dated so.
   */
  constructor(private readonly options: { kdc?: boolean; clockOffset?: string } = {}) {}

  get smbConf(): string {
    return join(this.dir, 'etc', 'smb.conf');
  }

  get url(): string {
    return `ldap://${this.address}:389`;
  }

  get ldapsUrl(): string {
    return `ldaps://${this.address}:636`;
  }

  /** Samba makes its own CA and server certificate (for dc1.example.test) at first start. */
  get caFile(): string {
    return join(this.dir, 'private', 'tls', 'ca.pem');
  }

  get globalCatalogUrl(): string {
    return `ldap://${this.address}:3268`;
  }

  async start(): Promise<void> {
    if (!existsSync(join(this.dir, 'etc'))) {
      const snapshot = snapshotDir();
      cpSync(snapshot, this.dir, { recursive: true });
      const conf = join(this.dir, 'etc', 'smb.conf');
      let text = readFileSync(conf, 'utf8').replaceAll(snapshot, this.dir).replaceAll(PLACEHOLDER_ADDRESS, this.address);
      if (this.options.kdc) text = text.replace('server services = ldap', 'server services = ldap kdc');
      writeFileSync(conf, text);
      mkdirSync(join(this.dir, 'run'), { recursive: true });
    }
    const samba = ['samba', '--foreground', '--no-process-group', '-M', 'single', '-s', join(this.dir, 'etc', 'smb.conf')];
    const [command, ...args] = this.options.clockOffset ? ['faketime', '-f', this.options.clockOffset, ...samba] : samba;
    this.process = spawn(command as string, args, { stdio: 'ignore' });
    const exited = new Promise<never>((_, reject) => this.process?.once('exit', (code) => reject(new Error(`samba exited with ${code}`))));
    const ports = [389, 3268, ...(this.options.kdc ? [88] : [])];
    await Promise.race([Promise.all(ports.map((port) => waitForPort(port, this.address, 30_000))), exited]);
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
