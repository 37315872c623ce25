import { randomBytes } from 'node:crypto';
import { SECRET_VARIABLES } from '../config/schema.js';
import { CommandUsageError } from './usage-error.js';

/** What stands in front of the gateway and terminates TLS. */
export type TlsFront =
  /** compose's https profile: Caddy on 80 and 443, with this kind of certificate. */
  | { kind: 'caddy'; certificate: HttpsCertificate }
  /** The office's own reverse proxy, at these addresses or CIDRs (GATEWAY_TRUST_PROXY). */
  | { kind: 'proxy'; addresses: string }
  /** Nothing: the gateway serves plain HTTP itself. */
  | { kind: 'none' };

export const HTTPS_CERTIFICATES = ['auto', 'internal', 'files'] as const;
export type HttpsCertificate = (typeof HTTPS_CERTIFICATES)[number];

export const USER_PERMISSIONS = ['viewer', 'editor'] as const;
export type UserPermissions = (typeof USER_PERMISSIONS)[number];

export const DATABASES = ['postgres', 'sqlite'] as const;
export type Database = (typeof DATABASES)[number];

/** What `init` asks for: what it cannot make up. */
export interface InitAnswers {
  publicUrl: string;
  preset: string;
  ldapUrl: string;
  bindDn: string;
  bindPassword: string;
  userBase: string;
  /** The directory group whose members become Paperless superusers. */
  adminGroup: string;
  /** The directory group whose members may sign in and use Paperless. */
  userGroup: string;
  userPermissions: UserPermissions;
  /** Whether the directory's CA is copied beside the .env (init copies the file the admin named). */
  caFile: boolean;
  tlsFront: TlsFront;
  publish: { address: string; port: number };
  database: Database;
}

/** What init learns from the machine it runs on, for Paperless's settings. */
export interface HostFacts {
  timeZone: string;
  uid: number;
  gid: number;
}

/** Where compose mounts the folder ./certs beside compose.yaml, in the gateway's container. */
export const CONTAINER_CERTS = '/config/certs';
/** The directory's CA as init copies it: ./certs/ldap-ca.pem beside the .env. */
export const CA_COPY = 'ldap-ca.pem';
/** The caddy service's fixed address on compose's network (outside docker's dynamic range). */
export const HTTPS_PROXY_ADDRESS = '172.30.251.250';

/** The name of the gateway's own Paperless account, made by compose's paperless-bootstrap service. */
export const SERVICE_ACCOUNT = 'gateway+service';

/** Characters every .env reader takes verbatim, unquoted. */
const PLAIN = /^[A-Za-z0-9_./:@,=+-]*$/;

/**
 * One `.env` value as compose v1 (python-dotenv) and compose v2 (compose-go) both read it back
 * exactly, or a refusal with a way out.
 * - Plain when it can be.
 * - A `\` at the end escapes any closing quote for python-dotenv, which then reads on to the
 *   next quote in the file and loses the settings in between: such a value goes unquoted, which
 *   neither reader unescapes, if it also has no `$` (v2 expands it), no `#` (a comment), and
 *   no space (trimmed) or quote at its start.
 * - Otherwise single quotes, where neither reads `$NAME` or `#`, if nothing in it means
 *   something there: v1 expands `${…}` even in single quotes and unescapes `\\`, v2 does not.
 * - Otherwise double quotes with `\` and `"` escaped, which both unescape alike, if it has no
 *   `$` (v2 expands `$NAME` there, v1 only `${…}`, and no escape of `$` means the same to both).
 */
export function envValue(name: string, value: string): string {
  if (PLAIN.test(value)) return value;
  const wayOut = (SECRET_VARIABLES as readonly string[]).includes(name)
    ? `put it in a file and set ${name}_FILE instead (README: "Settings")`
    : 'give it without those characters (README: "Settings")';
  if (/[\0\r\n]/.test(value)) throw new CommandUsageError(`${name}: a value with a line break cannot be written to .env; ${wayOut}`);
  if (value.endsWith('\\')) {
    if (/^[^'"\s]/.test(value) && !/[$#]/.test(value)) return value;
    throw new CommandUsageError(`${name}: a value ending in \\ cannot be written to .env with a $, a #, a space at its start or a quote at its start; ${wayOut}`);
  }
  if (!value.includes("'") && !value.includes('${') && !value.includes('\\\\')) return `'${value}'`;
  if (!value.includes('$')) return `"${value.replace(/[\\"]/g, '\\$&')}"`;
  throw new CommandUsageError(`${name}: a value with a $ and also a single quote, \${ or two backslashes in a row cannot be written to .env so that every compose reads it back; ${wayOut}`);
}

/** What a line's value written by envValue stands for (init checks its answers as they will be read). */
export function readEnvValue(written: string): string {
  if (written.startsWith("'")) return written.slice(1, -1);
  if (written.startsWith('"')) return written.slice(1, -1).replace(/\\([\\"])/g, '$1');
  return written;
}

/** A fresh secret: hex, so it survives every .env reader and shell. */
export function freshSecret(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** The directory groups allowed to sign in, as GATEWAY_LDAP_ALLOWED_GROUPS reads them (`;` between). */
export function allowedGroups(answers: Pick<InitAnswers, 'adminGroup' | 'userGroup'>): string {
  return `${answers.adminGroup};${answers.userGroup}`;
}

/** compose profiles for these answers: postgres for Paperless's database, https for Caddy. */
export function composeProfiles(answers: Pick<InitAnswers, 'database' | 'tlsFront'>): string {
  return [...(answers.database === 'postgres' ? ['postgres'] : []), ...(answers.tlsFront.kind === 'caddy' ? ['https'] : [])].join(',');
}

const line = (name: string, value: string) => `${name}=${envValue(name, value)}`;

function trustProxyLines(front: TlsFront): string[] {
  switch (front.kind) {
    case 'caddy':
      return [
        "# Caddy's certificate: auto gets a public one (Let's Encrypt) for the public URL's host, which",
        '# needs ports 80 and 443 reachable from the internet; internal makes one with Caddy\'s own CA',
        "# (each browser must trust that CA once); files uses ./https/https.crt and ./https/https.key,",
        '# a folder only Caddy mounts.',
        `GATEWAY_HTTPS_CERTIFICATE=${front.certificate}`,
        "# The gateway takes a person's address from X-Forwarded-For only from Caddy, at its fixed",
        '# address on compose\'s network; otherwise everybody would share one address, and a few wrong',
        '# passwords would lock the whole office out. To move Caddy, change both lines (README: "Production").',
        `#GATEWAY_HTTPS_PROXY_ADDRESS=${HTTPS_PROXY_ADDRESS}`,
        `GATEWAY_TRUST_PROXY=${HTTPS_PROXY_ADDRESS}`,
      ];
    case 'proxy':
      return [
        '# Your reverse proxy: the gateway takes a person\'s address from X-Forwarded-For only when the',
        '# request comes from here; otherwise everybody would share the proxy\'s address, and a few wrong',
        '# passwords would lock the whole office out (README: "Production").',
        line('GATEWAY_TRUST_PROXY', front.addresses),
      ];
    case 'none':
      return [
        '# No proxy in front: the gateway sees each person\'s own address. If you put a proxy in front',
        '# later, name its address here (README: "Settings").',
        'GATEWAY_TRUST_PROXY=false',
      ];
  }
}

/** The whole .env of a compose install, with fresh secrets. */
export function renderEnvFile(answers: InitAnswers, host: HostFacts, now: Date = new Date(), secret: (bytes: number) => string = freshSecret): string {
  const caddy = answers.tlsFront.kind === 'caddy';
  const postgres = answers.database === 'postgres';
  return [
    `# paperless-ldap-gateway, written by \`paperless-ldap-gateway init\` on ${now.toISOString().slice(0, 10)}.`,
    '# docker compose reads this file beside compose.yaml and hands every line to the gateway.',
    '# It holds secrets: keep it private (it is written readable by its owner only).',
    '# README: "Production" walks through the install, "Settings" lists every setting.',
    '',
    '# The optional parts of compose.yaml that run: postgres (Paperless\'s database) and https',
    '# (Caddy in front, with a certificate). Without postgres Paperless keeps a SQLite database.',
    `COMPOSE_PROFILES=${composeProfiles(answers)}`,
    '',
    '# The address people type to reach Paperless.',
    line('GATEWAY_PUBLIC_URL', answers.publicUrl),
    caddy
      ? '# Where the gateway\'s port is published on this host: only Caddy, on this host, reaches it.'
      : '# Where the gateway\'s port is published on this host (0.0.0.0: every network of this host).',
    line('GATEWAY_PUBLISH_ADDRESS', answers.publish.address),
    `GATEWAY_PUBLISH_PORT=${answers.publish.port}`,
    ...trustProxyLines(answers.tlsFront),
    '',
    '# The directory (README: "Directories").',
    line('GATEWAY_LDAP_PRESET', answers.preset),
    line('GATEWAY_LDAP_URL', answers.ldapUrl),
    "# The gateway's service account: it looks people and their groups up, and changes nothing.",
    line('GATEWAY_LDAP_BIND_DN', answers.bindDn),
    line('GATEWAY_LDAP_BIND_PASSWORD', answers.bindPassword),
    '# Where people are: only entries below it may sign in.',
    line('GATEWAY_LDAP_USER_BASE', answers.userBase),
    '# Only members of these directory groups may sign in (; between groups). provisioning.yaml,',
    '# beside this file, says what each group may do in Paperless (README: "Provisioning Paperless").',
    line('GATEWAY_LDAP_ALLOWED_GROUPS', allowedGroups(answers)),
    ...(answers.caFile
      ? [
          "# The directory's CA, for ldaps:// and StartTLS: init copied it to ./certs/ldap-ca.pem beside",
          `# this file, which compose mounts at ${CONTAINER_CERTS} (README: "Directories").`,
          `GATEWAY_LDAP_CA_FILE=${CONTAINER_CERTS}/${CA_COPY}`,
        ]
      : []),
    '',
    '# Made fresh by init. Changing the session secret signs everybody out.',
    `GATEWAY_SESSION_SECRET=${secret(32)}`,
    `# The API token of the gateway's own Paperless superuser, ${SERVICE_ACCOUNT}: compose's`,
    '# paperless-bootstrap service gives that account exactly this token on every `up`.',
    `GATEWAY_PAPERLESS_TOKEN=${secret(20)}`,
    "# Paperless's own secret key.",
    `PAPERLESS_SECRET_KEY=${secret(32)}`,
    '# For second factors (GATEWAY_MFA=optional or required) remove the # below; back the key',
    '# up with Redis (README: "Second factors").',
    `#GATEWAY_MFA_KEY=${secret(32)}`,
    '',
    "# Paperless's own settings, which compose passes to Paperless.",
    postgres
      ? "# Paperless's database: the postgres service of compose (profile postgres)."
      : "# Paperless's database: empty is SQLite in Paperless's data volume; postgres is compose's",
    ...(postgres ? [] : ['# postgres service (profile postgres; move the data with document_exporter, README: "Production").']),
    `PAPERLESS_DBHOST=${postgres ? 'postgres' : ''}`,
    '# The password of Paperless\'s database user paperless (used with PostgreSQL only). Set it before',
    '# the first `up`: PostgreSQL keeps the one it started with.',
    `PAPERLESS_DBPASS=${secret(24)}`,
    '# The time zone of the dates Paperless shows and reads from documents.',
    line('PAPERLESS_TIME_ZONE', host.timeZone),
    '# The languages OCR reads, as Tesseract names them: eng, deu, fra, ...; several: deu+eng.',
    'PAPERLESS_OCR_LANGUAGE=eng',
    '# Who owns the files Paperless writes in ./consume and ./export: the user who ran init.',
    `USERMAP_UID=${host.uid}`,
    `USERMAP_GID=${host.gid}`,
    '',
  ].join('\n');
}
