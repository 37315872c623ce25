import { isIP } from 'node:net';
import proxyaddr from 'proxy-addr';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { z } from 'zod';
import { PRESET_NAMES } from './directory-presets.js';
import { parseDuration } from './duration.js';
import { parseRedisUrl } from './redis-url.js';
import { contrastWithWhite } from './colour.js';
import { LANGUAGES } from './languages.js';

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

const httpUrl = (what: string) =>
  z
    .string({ error: `is required (${what})` })
    .trim()
    .refine((v) => URL.canParse(v), { error: `must be an absolute URL (${what})` })
    .transform((v) => new URL(v))
    .refine((u) => u.protocol === 'http:' || u.protocol === 'https:', { error: 'must start with http:// or https://' });

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `must be a positive duration such as 30m, 12h or 7d (got "${v}")` });
        return z.NEVER;
      }
      return ms;
    });

/** `off` (or unset) or a duration of at least `minMs`. */
const offOrDuration = (minMs: number, example: string, fallback?: string) =>
  z
    .string()
    .optional()
    .transform((given, ctx) => {
      const v = given ?? fallback;
      if (v === undefined || v.trim() === 'off') return undefined;
      const ms = parseDuration(v);
      if (ms === undefined || ms < minMs) {
        ctx.addIssue({ code: 'custom', message: `must be off or a duration such as ${example} (got "${v}")` });
        return z.NEVER;
      }
      return ms;
    });

const LOGO_TYPES = ['.svg', '.png', '.jpg', '.jpeg', '.webp', '.gif'];
export const MAX_LOGO_BYTES = 1024 * 1024;

/** A logo: an http(s) URL the browser loads, or a file the gateway serves. */
const logo = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx): { url: URL } | { file: string } | undefined => {
    if (!v) return undefined;
    if (/^https?:\/\//i.test(v)) {
      if (!URL.canParse(v)) {
        ctx.addIssue({ code: 'custom', message: `must be an http(s) URL or a file path (got "${v}")` });
        return z.NEVER;
      }
      return { url: new URL(v) };
    }
    if (!LOGO_TYPES.includes(extname(v).toLowerCase())) {
      ctx.addIssue({ code: 'custom', message: `must be an image file (${LOGO_TYPES.join(', ')}) or an http(s) URL (got "${v}")` });
      return z.NEVER;
    }
    return { file: v };
  });

/** The spellings every on/off setting accepts, in any case. */
const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];
const BOOL_ERROR = 'must be true or false (also yes/no, on/off, 1/0, in any case)';

/** A boolean spelling, or undefined when unset; an unknown spelling is an issue, never a silent default. */
const boolWord = z
  .string()
  .optional()
  .transform((v, ctx): boolean | undefined => {
    if (v === undefined) return undefined;
    const w = v.trim().toLowerCase();
    if (TRUE_WORDS.includes(w)) return true;
    if (FALSE_WORDS.includes(w)) return false;
    ctx.addIssue({ code: 'custom', message: `${BOOL_ERROR} (got "${v}")` });
    return z.NEVER;
  });

const bool = (fallback: boolean) => boolWord.transform((v) => v ?? fallback);

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .refine((v) => /^\d+$/.test(v.trim()), { error: 'must be a whole number' })
    .transform((v) => Number(v))
    .refine((n) => n >= min && n <= max, { error: `must be between ${min} and ${max}` });

const attribute = z.string().trim().regex(/^[A-Za-z][A-Za-z0-9-]*$/, { error: 'must be an LDAP attribute name' }).optional();

const required = (hint: string) => z.string({ error: `is required (${hint})` }).trim().min(1, { error: `must not be empty (${hint})` });

/**
 * `GATEWAY_TRUST_PROXY`: `false` (default), a hop count, or a comma list of
 * addresses/CIDRs/express keywords. Plain `true` is refused: it would let any
 * client choose its own address, and with it its rate-limit key.
 */
const trustProxy = z
  .string()
  .default('false')
  .transform((v, ctx): false | number | string[] => {
    const t = v.trim();
    if (FALSE_WORDS.includes(t.toLowerCase()) && t !== '0') return false;
    if (/^\d+$/.test(t)) return Number(t);
    if (TRUE_WORDS.includes(t.toLowerCase())) {
      ctx.addIssue({ code: 'custom', message: `must name the proxies to trust (a hop count, or addresses/CIDRs); "${t}" would trust every client` });
      return z.NEVER;
    }
    const entries = t.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = entries.filter((e) => !isProxyAddress(e));
    if (bad.length > 0) {
      ctx.addIssue({ code: 'custom', message: `must be false, a hop count, or addresses/CIDRs/loopback/linklocal/uniquelocal separated by commas; not ${bad.map((b) => `"${b}"`).join(', ')}` });
      return z.NEVER;
    }
    try {
      // What the request path will compile: anything it refuses must stop the start, not a request.
      proxyaddr.compile(entries);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `is not a list of addresses/CIDRs: ${(err as Error).message}` });
      return z.NEVER;
    }
    return entries;
  });

/** An address, a CIDR (v4 /0–32, v6 /0–128), or one of Express's names for address ranges. */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

/** `GATEWAY_MFA_KEY`: exactly 32 bytes, as 64 hex digits or base64; a passphrase is refused (too weak for AES). */
const mfaKey = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx): Buffer | undefined => {
    if (v === undefined || v === '') return undefined;
    const bytes = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : /^[A-Za-z0-9+/]{43}=?$/.test(v) ? Buffer.from(v, 'base64') : undefined;
    if (bytes?.length !== 32) {
      ctx.addIssue({ code: 'custom', message: 'must be 32 random bytes as 64 hex digits (`openssl rand -hex 32`) or base64 (`openssl rand -base64 32`)' });
      return z.NEVER;
    }
    return bytes;
  });

/** Splits `GATEWAY_LDAP_ALLOWED_GROUPS`: `;` separates; without `;`, a value with `=` is one DN, else `,` separates names. */
export function splitGroupList(value: string): string[] {
  const t = value.trim();
  if (t === '') return [];
  const parts = t.includes(';') ? t.split(';') : t.includes('=') ? [t] : t.split(',');
  return parts.map((p) => p.trim()).filter(Boolean);
}

export const envSchema = z
  .object({
    GATEWAY_HOST: z.string().trim().min(1).default('0.0.0.0'),
    GATEWAY_PORT: int(8080, 1, 65535),
    GATEWAY_WORKERS: z
      .string()
      .default('1')
      .refine((v) => v.trim() === 'auto' || /^\d+$/.test(v.trim()), { error: 'must be a whole number or "auto" (one per CPU core)' })
      .transform((v) => (v.trim() === 'auto' ? availableParallelism() : Number(v)))
      .refine((n) => n >= 1 && n <= 64, { error: 'must be between 1 and 64' }),
    GATEWAY_PUBLIC_URL: httpUrl('the address people type, e.g. https://paperless.example.com').refine(
      (u) => u.pathname === '/' && !u.search && !u.hash,
      { error: 'must be an origin without a path (serving under a sub-path is not supported yet)' },
    ),
    GATEWAY_UPSTREAM_URL: httpUrl('where the gateway reaches Paperless, e.g. http://paperless:8000'),
    GATEWAY_UPSTREAM_TIMEOUT: duration('120s'),
    GATEWAY_UPSTREAM_MAX_PER_CLIENT: int(64, 1, 10_000),
    GATEWAY_UPSTREAM_CONNECTIONS: int(256, 1, 10_000),
    GATEWAY_WEBSOCKET_HANDSHAKE_TIMEOUT: duration('10s'),
    GATEWAY_PAGES_CONNECTIONS: int(256, 1, 10_000),
    GATEWAY_PAGES_BODY_TIMEOUT: duration('10s'),
    GATEWAY_CLIENT_HEADER_TIMEOUT: duration('20s'),
    GATEWAY_CLIENT_BODY_IDLE_TIMEOUT: duration('60s'),
    GATEWAY_REDIS_URL: required('e.g. redis://redis:6379/0').superRefine((v, ctx) => {
      try {
        parseRedisUrl(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
    GATEWAY_REDIS_KEY_PREFIX: z.string().default('gateway:'),
    GATEWAY_SESSION_SECRET: required('at least 32 random characters, e.g. from `openssl rand -hex 32`').refine(
      (v) => v.length >= 32,
      { error: 'must be at least 32 characters long' },
    ),
    GATEWAY_SESSION_COOKIE_NAME: z.string().trim().regex(HEADER_NAME, { error: 'must be a valid cookie name' }).default('gateway_session'),
    GATEWAY_SESSION_IDLE_TIMEOUT: duration('1h'),
    GATEWAY_SESSION_MAX_LIFETIME: duration('12h'),
    GATEWAY_REMEMBER_ME_DURATION: offOrDuration(60_000, '30d'),
    GATEWAY_LANGUAGE: z.enum(['auto', ...LANGUAGES], { error: `must be auto or one of ${LANGUAGES.join(', ')}` }).default('auto'),
    GATEWAY_BRAND_TITLE: z.string().trim().min(1, { error: 'must not be empty' }).max(60, { error: 'must be at most 60 characters' }).default('Paperless-ngx'),
    GATEWAY_BRAND_LOGO: logo,
    GATEWAY_BRAND_ACCENT: z
      .string()
      .trim()
      .default('#17541f')
      .refine((v) => /^#[0-9a-fA-F]{6}$/.test(v), { error: 'must be a colour as #rrggbb, e.g. #17541f' })
      .superRefine((v, ctx) => {
        if (!/^#[0-9a-fA-F]{6}$/.test(v)) return;
        const ratio = contrastWithWhite(v);
        if (ratio < 4.5) ctx.addIssue({ code: 'custom', message: `is too light: white text on it has a contrast of ${ratio.toFixed(1)}:1, and at least 4.5:1 is needed to be readable (choose a darker colour)` });
      }),
    GATEWAY_BRAND_FOOTER: z.string().trim().max(200, { error: 'must be at most 200 characters' }).optional(),
    GATEWAY_BRAND_FOOTER_URL: httpUrl('a link under the form, e.g. https://id.example.com/reset').optional(),
    GATEWAY_LDAP_URL: required('e.g. ldap://ldap:389 or ldaps://dc1.example.com:636').refine(
      (v) => v.split(/[\s,]+/).filter(Boolean).every((u) => /^ldaps?:\/\/[^/]+\/?$/i.test(u)),
      { error: 'must be one or more ldap:// or ldaps:// URLs (comma separated)' },
    ),
    GATEWAY_LDAP_BIND_DN: required('the service account, e.g. cn=gateway,ou=services,dc=example,dc=com'),
    GATEWAY_LDAP_BIND_PASSWORD: required("the service account's password"),
    GATEWAY_LDAP_USER_BASE: required('where users live, e.g. ou=people,dc=example,dc=com'),
    GATEWAY_LDAP_PRESET: z.enum(PRESET_NAMES, { error: `must be one of ${PRESET_NAMES.join(', ')}` }).default('openldap'),
    GATEWAY_LDAP_USER_FILTER: z
      .string()
      .optional()
      .refine((v) => v === undefined || v.includes('{username}'), { error: 'must contain the {username} placeholder' })
      .refine((v) => v === undefined || (v.trim().startsWith('(') && v.trim().endsWith(')')), { error: 'must be an LDAP filter in parentheses' }),
    GATEWAY_LDAP_USERNAME_ATTRIBUTE: attribute,
    GATEWAY_LDAP_MAIL_ATTRIBUTE: attribute,
    GATEWAY_LDAP_FIRST_NAME_ATTRIBUTE: attribute,
    GATEWAY_LDAP_LAST_NAME_ATTRIBUTE: attribute,
    GATEWAY_LDAP_DISPLAY_NAME_ATTRIBUTE: attribute,
    GATEWAY_LDAP_GROUP_BASE: z.string().trim().optional(),
    GATEWAY_LDAP_GROUP_MODE: z.enum(['memberof', 'search'], { error: 'must be memberof or search' }).optional(),
    GATEWAY_LDAP_GROUP_FILTER: z
      .string()
      .optional()
      .refine((v) => v === undefined || v.includes('{dn}') || v.includes('{username}'), { error: 'must contain {dn} or {username}' }),
    GATEWAY_LDAP_GROUP_NAME_ATTRIBUTE: attribute,
    GATEWAY_LDAP_NESTED_GROUPS: boolWord,
    GATEWAY_LDAP_NESTED_DEPTH: int(10, 1, 50),
    GATEWAY_LDAP_ALLOWED_GROUPS: z.string().default('').transform(splitGroupList),
    GATEWAY_LDAP_STARTTLS: bool(false),
    GATEWAY_LDAP_CA_FILE: z.string().trim().optional(),
    GATEWAY_LDAP_TLS_SERVER_NAME: z.string().trim().optional(),
    GATEWAY_LDAP_TLS_MIN_VERSION: z.enum(['TLSv1.2', 'TLSv1.3'], { error: 'must be TLSv1.2 or TLSv1.3' }).default('TLSv1.2'),
    GATEWAY_LDAP_TLS_SKIP_VERIFY: bool(false),
    GATEWAY_LDAP_PAGE_SIZE: int(500, 1, 100000),
    GATEWAY_LDAP_RECHECK_INTERVAL: duration('5m'),
    GATEWAY_LDAP_CONNECT_TIMEOUT: duration('5s'),
    GATEWAY_LDAP_TIMEOUT: duration('10s'),
    GATEWAY_RESERVED_USERNAMES: z
      .string()
      .default('admin, gateway+service')
      // An empty value reads as unset (compose passes empty variables), so none is said in words.
      .transform((v) => (v.trim().toLowerCase() === 'none' ? [] : v.split(',').map((n) => n.trim()).filter(Boolean))),
    GATEWAY_REMOTE_USER_HEADER: z
      .string()
      .trim()
      .regex(HEADER_NAME, { error: 'must be a valid HTTP header name such as Remote-User' })
      .default('Remote-User'),
    GATEWAY_PAPERLESS_TOKEN: z.string().trim().optional(),
    GATEWAY_PAPERLESS_API_URL: httpUrl('where the gateway calls the Paperless API, e.g. http://paperless:8000').optional(),
    GATEWAY_PAPERLESS_API_TIMEOUT: duration('10s'),
    GATEWAY_PROVISIONING: bool(true).transform((on) => (on ? 'on' : 'off')),
    GATEWAY_PROVISIONING_FILE: z.string().trim().optional(),
    GATEWAY_PROVISIONING_FAILURE: z.enum(['deny', 'allow'], { error: 'must be deny or allow' }).default('deny'),
    GATEWAY_PROVISIONING_ADOPT_LOCAL_USERS: bool(false),
    GATEWAY_SYNC_INTERVAL: offOrDuration(1000, '1h'),
    GATEWAY_SYNC_DEPROVISION: bool(false),
    GATEWAY_SYNC_DEPROVISION_MAX_SHARE: int(10, 0, 100),
    GATEWAY_REGULATION: bool(true),
    GATEWAY_REGULATION_MAX_FAILURES_USER_IP: int(4, 1, 1000),
    GATEWAY_REGULATION_MAX_FAILURES_IP: int(30, 1, 100000),
    GATEWAY_REGULATION_MAX_FAILURES_USER: int(4, 1, 100000),
    GATEWAY_REGULATION_WINDOW: duration('15m'),
    GATEWAY_REGULATION_BAN: duration('15m'),
    GATEWAY_REGULATION_MAX_BAN: duration('24h'),
    GATEWAY_API_BASIC_AUTH: bool(true),
    GATEWAY_API_BASIC_AUTH_CACHE_TTL: duration('60s'),
    GATEWAY_PAPERLESS_COOKIE_PREFIX: z.string().trim().regex(/^[A-Za-z0-9_-]*$/, { error: 'may hold only letters, digits, _ and -' }).default(''),
    GATEWAY_TRUST_PROXY: trustProxy,
    GATEWAY_METRICS_TOKEN: z.string().trim().optional(),
    // A listener of its own, as Authelia's and oauth2-proxy's metrics address: host:port, [v6]:port.
    GATEWAY_METRICS_ADDRESS: z
      .string()
      .trim()
      .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([1-9][0-9]{0,4})$/, { error: 'must be host:port, e.g. 0.0.0.0:9100 or [::]:9100' })
      .optional(),
    GATEWAY_PASSWORD_CHANGE: bool(true),
    GATEWAY_PASSWORD_EXPIRY_WARNING: offOrDuration(3_600_000, '14d', '14d'),
    GATEWAY_PASSWORD_CHANGE_SIGN_OUT: z.enum(['others', 'none'], { error: 'must be others or none' }).default('others'),
    GATEWAY_MFA: z.enum(['off', 'optional', 'required'], { error: 'must be off, optional or required' }).default('off'),
    GATEWAY_MFA_REQUIRED_GROUPS: z.string().default('').transform(splitGroupList),
    GATEWAY_MFA_KEY: mfaKey,
    GATEWAY_MFA_ENROLMENT: z.enum(['link', 'first-login'], { error: 'must be link or first-login' }).default('link'),
    GATEWAY_MFA_ENROLMENT_LINK_TTL: duration('72h'),
    GATEWAY_MFA_REMEMBER_DEVICE: offOrDuration(3_600_000, '30d'),
    GATEWAY_MFA_ISSUER: z.string().trim().min(1).max(60, { error: 'must be at most 60 characters' }).optional(),
    GATEWAY_KERBEROS: bool(false),
    GATEWAY_KERBEROS_KEYTAB_FILE: z.string().trim().optional(),
    GATEWAY_KERBEROS_KEYTAB: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, { error: 'must be the keytab file in base64 (base64 -w0 http.keytab), or use GATEWAY_KERBEROS_KEYTAB_FILE' })
      .optional(),
    GATEWAY_KERBEROS_SERVICE_PRINCIPAL: z
      .string()
      .trim()
      .regex(/^[A-Za-z][A-Za-z0-9-]*\/[A-Za-z0-9.-]+(@[A-Za-z0-9.-]+)?$/, { error: 'must be SERVICE/host.name or SERVICE/host.name@REALM, e.g. HTTP/paperless.example.com' })
      .optional(),
    GATEWAY_KERBEROS_REALMS: z
      .string()
      .default('')
      // As written: realms are case-sensitive (Active Directory's are the domain in upper case).
      .transform((v) => v.split(',').map((e) => e.trim()).filter(Boolean))
      .refine((realms) => realms.every((r) => /^[A-Za-z0-9.-]+$/.test(r)), { error: 'must be a realm name, e.g. EXAMPLE.COM' })
      // Names are unique within one domain only: another realm's alice (and every domain's
      // Administrator) would be looked up as this directory's.
      .refine((realms) => realms.length <= 1, { error: 'takes one realm: people of several realms would be looked up in the one directory by their names alone, and two realms may each have an alice' }),
    GATEWAY_KERBEROS_REPLAY_CACHE_DIR: z.string().trim().optional(),
    GATEWAY_KERBEROS_CLOCK_SKEW: duration('5m').refine((ms) => ms >= 1000 && ms <= 3_600_000, { error: 'must be between 1s and 1h (Kerberos allows 5m by default)' }),
    GATEWAY_SHUTDOWN_TIMEOUT: duration('30s'),
    GATEWAY_LOG_REQUESTS: bool(true),
    GATEWAY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.GATEWAY_REMEMBER_ME_DURATION !== undefined && env.GATEWAY_REMEMBER_ME_DURATION <= env.GATEWAY_SESSION_IDLE_TIMEOUT) {
      ctx.addIssue({ code: 'custom', path: ['GATEWAY_REMEMBER_ME_DURATION'], message: 'must be longer than GATEWAY_SESSION_IDLE_TIMEOUT (it extends the session)' });
    }
    if (env.GATEWAY_SESSION_MAX_LIFETIME < env.GATEWAY_SESSION_IDLE_TIMEOUT) {
      ctx.addIssue({ code: 'custom', path: ['GATEWAY_SESSION_MAX_LIFETIME'], message: 'must not be shorter than GATEWAY_SESSION_IDLE_TIMEOUT' });
    }
    if (env.GATEWAY_MFA !== 'off' && env.GATEWAY_MFA_KEY === undefined) {
      ctx.addIssue({ code: 'custom', path: ['GATEWAY_MFA_KEY'], message: `is required while GATEWAY_MFA is ${env.GATEWAY_MFA} (32 random bytes as 64 hex digits, e.g. from \`openssl rand -hex 32\`; it encrypts the second factors)` });
    }
    if (env.GATEWAY_MFA === 'off' && env.GATEWAY_MFA_REQUIRED_GROUPS.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['GATEWAY_MFA_REQUIRED_GROUPS'], message: 'has no effect while GATEWAY_MFA is off (set GATEWAY_MFA=optional to require a second factor of these groups only)' });
    }
    if (env.GATEWAY_MFA_ENROLMENT === 'first-login' && env.GATEWAY_PROVISIONING === 'off') {
      ctx.addIssue({ code: 'custom', path: ['GATEWAY_MFA_ENROLMENT'], message: 'first-login needs GATEWAY_PROVISIONING=on: a first sign-in is one for which Paperless has no account yet, which only provisioning can ask' });
    }
    if (env.GATEWAY_KERBEROS) {
      if (env.GATEWAY_KERBEROS_KEYTAB === undefined && env.GATEWAY_KERBEROS_KEYTAB_FILE === undefined) {
        ctx.addIssue({ code: 'custom', path: ['GATEWAY_KERBEROS_KEYTAB_FILE'], message: 'is required while GATEWAY_KERBEROS is on: the keytab of the service principal (from ktpass, or samba-tool domain exportkeytab)' });
      }
      if (env.GATEWAY_KERBEROS_KEYTAB !== undefined && env.GATEWAY_KERBEROS_KEYTAB_FILE !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['GATEWAY_KERBEROS_KEYTAB'], message: 'set both GATEWAY_KERBEROS_KEYTAB and GATEWAY_KERBEROS_KEYTAB_FILE; keep only one' });
      }
      // A ticket names the sAMAccountName (AD) or uid: looked up by another attribute, its name could be another entry's.
      const wanted = env.GATEWAY_LDAP_PRESET === 'activedirectory' ? 'sAMAccountName' : 'uid';
      if (env.GATEWAY_LDAP_USERNAME_ATTRIBUTE !== undefined && env.GATEWAY_LDAP_USERNAME_ATTRIBUTE.toLowerCase() !== wanted.toLowerCase()) {
        ctx.addIssue({ code: 'custom', path: ['GATEWAY_LDAP_USERNAME_ATTRIBUTE'], message: `must be ${wanted} (or unset) while GATEWAY_KERBEROS is on: a ticket's name is the ${wanted}, and looked up by another attribute it could be another entry's` });
      }
      if (env.GATEWAY_KERBEROS_REALMS.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['GATEWAY_KERBEROS_REALMS'], message: 'is required while GATEWAY_KERBEROS is on: the realms whose people may sign in, e.g. EXAMPLE.COM' });
      }
      // Realms are compared as written: a case that differs from the tickets' would refuse everyone, quietly.
      const realm = env.GATEWAY_KERBEROS_REALMS[0];
      if (realm !== undefined && env.GATEWAY_LDAP_PRESET === 'activedirectory' && realm !== realm.toUpperCase()) {
        ctx.addIssue({ code: 'custom', path: ['GATEWAY_KERBEROS_REALMS'], message: `must be in upper case on Active Directory (its realm is the domain in upper case: ${realm.toUpperCase()})` });
      }
      const serviceRealm = env.GATEWAY_KERBEROS_SERVICE_PRINCIPAL?.split('@')[1];
      if (realm !== undefined && serviceRealm !== undefined && serviceRealm !== realm && serviceRealm.toLowerCase() === realm.toLowerCase()) {
        ctx.addIssue({ code: 'custom', path: ['GATEWAY_KERBEROS_REALMS'], message: `is ${realm}, but GATEWAY_KERBEROS_SERVICE_PRINCIPAL's realm is ${serviceRealm}: realms are case-sensitive, write both alike` });
      }
    }
    if (env.GATEWAY_LDAP_STARTTLS && env.GATEWAY_LDAP_URL.toLowerCase().includes('ldaps://')) {
      ctx.addIssue({ code: 'custom', path: ['GATEWAY_LDAP_STARTTLS'], message: 'cannot be combined with ldaps:// URLs (they are TLS already)' });
    }
  });

export type Env = z.output<typeof envSchema>;

/** Settings that may be given as `<NAME>_FILE` (Docker secrets) instead of inline. */
export const SECRET_VARIABLES = ['GATEWAY_SESSION_SECRET', 'GATEWAY_LDAP_BIND_PASSWORD', 'GATEWAY_PAPERLESS_TOKEN', 'GATEWAY_METRICS_TOKEN', 'GATEWAY_MFA_KEY'] as const;
