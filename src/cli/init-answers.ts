import { readFileSync } from 'node:fs';
import { PRESET_NAMES } from '../config/directory-presets.js';
import { fileError } from '../config/files.js';
import { envSchema } from '../config/schema.js';
import { CommandUsageError } from './usage-error.js';
import { DATABASES, HTTPS_CERTIFICATES, USER_PERMISSIONS, type InitAnswers, type TlsFront } from './env-file.js';

/** The command line's values, and the answers collected so far, by option name. */
export type Given = Record<string, string>;

/** One value init needs: its option, its question on a terminal, and what it accepts. */
interface Question {
  flag: string;
  prompt: string;
  /** Taken when nothing is given (and, on a terminal, when the answer is left empty). */
  fallback?: (given: Given) => string | undefined;
  silent?: boolean;
  /** An empty answer is an answer (e.g. no CA file: the system's CAs). */
  optional?: boolean;
  /** Asked on a terminal only when this holds; never asked without it. */
  asked?: (given: Given) => boolean;
  /** Why the value is refused, or undefined. */
  check?: (value: string, given: Given) => string | undefined;
}

const oneOf = (values: readonly string[]) => (value: string) => (values.includes(value) ? undefined : `must be ${values.join(' or ')}, not "${value}"`);

/** A group name as GATEWAY_LDAP_ALLOWED_GROUPS and the mapping carry it: `;` separates groups there. */
function checkGroup(value: string): string | undefined {
  if (value.includes(';')) return 'a group name cannot hold ";" (it separates groups in GATEWAY_LDAP_ALLOWED_GROUPS)';
  if (/[\0-\x1f]/.test(value)) return 'a group name cannot hold a line break or control character';
  return undefined;
}

/** A PEM CA that the gateway will accept, read now so a wrong path shows before anything is written. */
function checkCaFile(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return `cannot read ${path}: ${fileError(err)}`;
  }
  return text.includes('-----BEGIN CERTIFICATE-----') ? undefined : `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----); convert a .cer/.der file with: openssl x509 -inform der -in FILE -out ca.pem`;
}

/** `caddy`, `none`, or the addresses/CIDRs of a reverse proxy as GATEWAY_TRUST_PROXY takes them. */
function checkTlsFront(value: string, given: Given): string | undefined {
  // Caddy serves the public URL's host over https only: an http:// URL would be plain HTTP, silently.
  if (value === 'caddy' && /^http:/i.test(given['public-url'] ?? '')) {
    return `is caddy, which serves https: the public URL must start with https://, not "${given['public-url']}" (or use --tls-front none for plain HTTP)`;
  }
  if (value === 'caddy' || value === 'none') return undefined;
  const parsed = envSchema.shape.GATEWAY_TRUST_PROXY.safeParse(value);
  if (parsed.success && Array.isArray(parsed.data)) return undefined;
  return `must be caddy (compose's https profile), none (plain HTTP), or your reverse proxy's address or CIDR (e.g. 10.0.0.5 or 10.0.0.0/24), not "${value}"`;
}

const PUBLISH = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9A-Fa-f:.]+)\]):(\d{1,5})$/;

function checkPublish(value: string): string | undefined {
  const m = PUBLISH.exec(value);
  const port = Number(m?.[3]);
  const v4 = m?.[1];
  if (!m || port < 1 || port > 65535 || (v4 !== undefined && v4.split('.').some((o) => Number(o) > 255))) {
    return `must be ADDRESS:PORT, e.g. 0.0.0.0:8080, 127.0.0.1:8080 or [::1]:8080, not "${value}"`;
  }
  return undefined;
}

const isCaddy = (given: Given) => given['tls-front'] === 'caddy';

/** In the order they are asked. Database and publish address have defaults that suit most offices: options only. */
export const QUESTIONS: readonly Question[] = [
  { flag: 'public-url', prompt: 'Public URL, the address people type (https://paperless.example.com):' },
  { flag: 'preset', prompt: `Directory kind (${PRESET_NAMES.join(', ')}):`, fallback: () => 'openldap', check: oneOf(PRESET_NAMES) },
  { flag: 'ldap-url', prompt: 'Directory URL (ldaps://dc1.example.com):' },
  {
    flag: 'ca-file',
    prompt: "The directory's CA certificate, a PEM file (empty: the CAs this system trusts):",
    optional: true,
    asked: (given) => /^ldaps:/i.test(given['ldap-url'] ?? ''),
    check: checkCaFile,
  },
  { flag: 'bind-dn', prompt: 'Service account DN (cn=gateway,ou=services,dc=example,dc=com):' },
  { flag: 'bind-password', prompt: 'Service account password:', silent: true },
  { flag: 'user-base', prompt: 'Where people are, the user base DN (ou=people,dc=example,dc=com):' },
  { flag: 'admin-group', prompt: 'Directory group whose members administer Paperless (superusers):', check: checkGroup },
  {
    flag: 'user-group',
    prompt: 'Directory group whose members may sign in and use Paperless:',
    check: (value, given) =>
      checkGroup(value) ??
      (value.toLowerCase() === given['admin-group']?.toLowerCase()
        ? 'is the admin group too: everybody in it would be a superuser; name the group of the people who use Paperless'
        : undefined),
  },
  { flag: 'user-permissions', prompt: 'What the user group may do: viewer (see documents) or editor (also add, change, delete):', fallback: () => 'viewer', check: oneOf(USER_PERMISSIONS) },
  {
    flag: 'tls-front',
    prompt: "What serves HTTPS in front: caddy (compose starts Caddy), your reverse proxy's address, or none:",
    check: checkTlsFront,
  },
  {
    flag: 'certificate',
    prompt: "Caddy's certificate: auto (public, from Let's Encrypt), internal (Caddy's own CA) or files (./https/https.crt and .key):",
    fallback: (given) => (isCaddy(given) ? 'auto' : undefined),
    asked: isCaddy,
    check: (value, given) => (given['tls-front'] !== undefined && !isCaddy(given) ? 'is for --tls-front caddy only' : oneOf(HTTPS_CERTIFICATES)(value)),
  },
  { flag: 'publish', prompt: '', fallback: (given) => (isCaddy(given) ? '127.0.0.1:8080' : '0.0.0.0:8080'), asked: () => false, check: checkPublish },
  { flag: 'database', prompt: '', fallback: () => 'postgres', asked: () => false, check: oneOf(DATABASES) },
];

/** The values still missing without a terminal: neither given nor defaulted nor optional. */
export function missingWithoutTerminal(given: Given): string[] {
  return QUESTIONS.filter((q) => !given[q.flag] && q.fallback === undefined && !q.optional).map((q) => `--${q.flag}`);
}

/** Every given value's refusal, in the options' words. */
export function refusals(given: Given): string[] {
  return QUESTIONS.flatMap((q) => {
    const value = given[q.flag];
    const reason = value === undefined || value === '' ? undefined : q.check?.(value, given);
    return reason ? [`--${q.flag}: ${reason}`] : [];
  });
}

export interface Asker {
  interactive: boolean;
  ask(prompt: string, options: { silent: boolean; fallback?: string }): Promise<string>;
  /** A line for the person at the terminal (stderr: stdout may carry the file). */
  say(text: string): void;
}

/** How often a question is asked before init gives up. */
const MAX_ATTEMPTS = 5;

/** Each value: given, else asked on a terminal (again, with the reason, while refused), else its default. */
export async function collectAnswers(options: Given, io: Asker): Promise<Given> {
  const problems = refusals(options);
  if (problems.length > 0) throw new CommandUsageError(`init: nothing written:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  if (!io.interactive) {
    const missing = missingWithoutTerminal(options);
    if (missing.length > 0) throw new CommandUsageError(`init: no terminal to ask on; give ${missing.join(', ')}`);
  }
  const given: Given = { ...options };
  for (const q of QUESTIONS) {
    if (given[q.flag]) continue;
    const fallback = q.fallback?.(given);
    const ask = io.interactive && (q.asked?.(given) ?? true);
    if (!ask) {
      if (fallback !== undefined) given[q.flag] = fallback;
      continue;
    }
    let reason = 'no answer';
    for (let attempt = 0; ; attempt++) {
      // A terminal that never gives an acceptable answer (a script piping the wrong thing) must not loop forever.
      if (attempt === MAX_ATTEMPTS) throw new CommandUsageError(`init: nothing written: --${q.flag}: ${reason}`);
      const value = (await io.ask(q.prompt, { silent: q.silent === true, ...(fallback ? { fallback } : {}) })) || fallback || '';
      if (value === '' && !q.optional) continue;
      const refused = value === '' ? undefined : q.check?.(value, given);
      if (!refused) {
        if (value !== '') given[q.flag] = value;
        break;
      }
      reason = refused;
      io.say(`${refused}; try again.`);
    }
  }
  const late = refusals(given);
  if (late.length > 0) throw new CommandUsageError(`init: nothing written:\n${late.map((p) => `  ${p}`).join('\n')}`);
  return given;
}

function tlsFrontOf(given: Given): TlsFront {
  const front = given['tls-front'] as string;
  if (front === 'caddy') return { kind: 'caddy', certificate: HTTPS_CERTIFICATES.find((c) => c === given.certificate) ?? 'auto' };
  if (front === 'none') return { kind: 'none' };
  return { kind: 'proxy', addresses: front };
}

/** The collected values as the files are written from them (each already checked). */
export function toInitAnswers(given: Given): InitAnswers {
  const publish = given.publish as string;
  // The address keeps an IPv6 address's brackets: compose's `ADDRESS:PORT:8080` needs them.
  const colon = publish.lastIndexOf(':');
  return {
    publicUrl: given['public-url'] as string,
    preset: given.preset as string,
    ldapUrl: given['ldap-url'] as string,
    bindDn: given['bind-dn'] as string,
    bindPassword: given['bind-password'] as string,
    userBase: given['user-base'] as string,
    adminGroup: given['admin-group'] as string,
    userGroup: given['user-group'] as string,
    userPermissions: given['user-permissions'] === 'editor' ? 'editor' : 'viewer',
    caFile: Boolean(given['ca-file']),
    tlsFront: tlsFrontOf(given),
    publish: { address: publish.slice(0, colon), port: Number(publish.slice(colon + 1)) },
    database: given.database === 'sqlite' ? 'sqlite' : 'postgres',
  };
}
