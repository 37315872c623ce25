import { tmpdir } from 'node:os';
import { type ConfigFiles, diskFiles, fileError } from './files.js';
import { envSchema, MAX_LOGO_BYTES, SECRET_VARIABLES, type Env } from './schema.js';
import { domainRoot, PRESETS } from './directory-presets.js';
import { DEFAULT_MAPPING, loadMapping, type ProvisioningMapping } from './mapping.js';
import type { Config, LdapConfig } from './config.js';
import { ConfigError, type ConfigProblem } from './errors.js';

type Environment = Record<string, string | undefined>;

/** Replaces every `<NAME>_FILE` secret with the file's content (trailing newline trimmed). */
function resolveSecretFiles(env: Environment, files: ConfigFiles, problems: ConfigProblem[]): Environment {
  const out: Environment = { ...env };
  for (const name of SECRET_VARIABLES) {
    const fileVar = `${name}_FILE`;
    const path = env[fileVar];
    if (path === undefined || path === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push({ variable: fileVar, message: `set both ${name} and ${fileVar}; keep only one` });
      continue;
    }
    try {
      out[name] = files.read(path).replace(/\r?\n$/, '');
    } catch (err) {
      problems.push({ variable: fileVar, message: `cannot read ${path}: ${fileError(err)}` });
    }
  }
  return out;
}

function ldapConfig(env: Env): LdapConfig {
  const preset = PRESETS[env.GATEWAY_LDAP_PRESET];
  return {
    preset: env.GATEWAY_LDAP_PRESET,
    urls: env.GATEWAY_LDAP_URL.split(/[\s,]+/).filter(Boolean),
    bindDn: env.GATEWAY_LDAP_BIND_DN,
    bindPassword: env.GATEWAY_LDAP_BIND_PASSWORD,
    userBase: env.GATEWAY_LDAP_USER_BASE,
    userFilter: env.GATEWAY_LDAP_USER_FILTER ?? preset.userFilter,
    attributes: {
      username: env.GATEWAY_LDAP_USERNAME_ATTRIBUTE ?? preset.usernameAttribute,
      mail: env.GATEWAY_LDAP_MAIL_ATTRIBUTE ?? preset.mailAttribute,
      firstName: env.GATEWAY_LDAP_FIRST_NAME_ATTRIBUTE ?? preset.firstNameAttribute,
      lastName: env.GATEWAY_LDAP_LAST_NAME_ATTRIBUTE ?? preset.lastNameAttribute,
      displayName: env.GATEWAY_LDAP_DISPLAY_NAME_ATTRIBUTE ?? preset.displayNameAttribute,
    },
    groupBase: env.GATEWAY_LDAP_GROUP_BASE || domainRoot(env.GATEWAY_LDAP_USER_BASE),
    groupMode: env.GATEWAY_LDAP_GROUP_MODE ?? preset.groupMode,
    groupFilter: env.GATEWAY_LDAP_GROUP_FILTER ?? preset.groupFilter,
    groupNameAttribute: env.GATEWAY_LDAP_GROUP_NAME_ATTRIBUTE ?? preset.groupNameAttribute,
    nestedGroups: env.GATEWAY_LDAP_NESTED_GROUPS ?? preset.nestedGroups,
    nestedDepth: env.GATEWAY_LDAP_NESTED_DEPTH,
    allowedGroups: env.GATEWAY_LDAP_ALLOWED_GROUPS,
    startTls: env.GATEWAY_LDAP_STARTTLS,
    tls: {
      ...(env.GATEWAY_LDAP_CA_FILE ? { caFile: env.GATEWAY_LDAP_CA_FILE } : {}),
      ...(env.GATEWAY_LDAP_TLS_SERVER_NAME ? { serverName: env.GATEWAY_LDAP_TLS_SERVER_NAME } : {}),
      minVersion: env.GATEWAY_LDAP_TLS_MIN_VERSION,
      skipVerify: env.GATEWAY_LDAP_TLS_SKIP_VERIFY,
    },
    connectTimeoutMs: env.GATEWAY_LDAP_CONNECT_TIMEOUT,
    timeoutMs: env.GATEWAY_LDAP_TIMEOUT,
    pageSize: env.GATEWAY_LDAP_PAGE_SIZE,
    recheckIntervalMs: env.GATEWAY_LDAP_RECHECK_INTERVAL,
  };
}

function toConfig(env: Env, mapping: ProvisioningMapping): Config {
  return {
    server: {
      host: env.GATEWAY_HOST,
      port: env.GATEWAY_PORT,
      workers: env.GATEWAY_WORKERS,
      publicUrl: env.GATEWAY_PUBLIC_URL,
      trustProxy: env.GATEWAY_TRUST_PROXY,
    },
    upstream: {
      url: env.GATEWAY_UPSTREAM_URL,
      timeoutMs: env.GATEWAY_UPSTREAM_TIMEOUT,
      maxPerClient: env.GATEWAY_UPSTREAM_MAX_PER_CLIENT,
      connections: env.GATEWAY_UPSTREAM_CONNECTIONS,
      handshakeTimeoutMs: env.GATEWAY_WEBSOCKET_HANDSHAKE_TIMEOUT,
    },
    client: { headerTimeoutMs: env.GATEWAY_CLIENT_HEADER_TIMEOUT, bodyIdleTimeoutMs: env.GATEWAY_CLIENT_BODY_IDLE_TIMEOUT },
    pages: { connections: env.GATEWAY_PAGES_CONNECTIONS, bodyTimeoutMs: env.GATEWAY_PAGES_BODY_TIMEOUT },
    redis: { url: env.GATEWAY_REDIS_URL, keyPrefix: env.GATEWAY_REDIS_KEY_PREFIX },
    session: {
      secret: env.GATEWAY_SESSION_SECRET,
      cookieName: env.GATEWAY_SESSION_COOKIE_NAME,
      idleTimeoutMs: env.GATEWAY_SESSION_IDLE_TIMEOUT,
      maxLifetimeMs: env.GATEWAY_SESSION_MAX_LIFETIME,
      secureCookie: env.GATEWAY_PUBLIC_URL.protocol === 'https:',
    },
    ldap: ldapConfig(env),
    provisioning: {
      enabled: env.GATEWAY_PROVISIONING === 'on',
      apiUrl: env.GATEWAY_PAPERLESS_API_URL ?? env.GATEWAY_UPSTREAM_URL,
      token: env.GATEWAY_PAPERLESS_TOKEN ?? '',
      timeoutMs: env.GATEWAY_PAPERLESS_API_TIMEOUT,
      mapping,
      failure: env.GATEWAY_PROVISIONING_FAILURE,
      adoptLocalUsers: env.GATEWAY_PROVISIONING_ADOPT_LOCAL_USERS,
      ...(env.GATEWAY_SYNC_INTERVAL ? { syncIntervalMs: env.GATEWAY_SYNC_INTERVAL } : {}),
      syncDeprovision: env.GATEWAY_SYNC_DEPROVISION,
      syncDeprovisionMaxShare: env.GATEWAY_SYNC_DEPROVISION_MAX_SHARE / 100,
    },
    regulation: {
      enabled: env.GATEWAY_REGULATION,
      maxFailuresPerUserAndIp: env.GATEWAY_REGULATION_MAX_FAILURES_USER_IP,
      maxFailuresPerIp: env.GATEWAY_REGULATION_MAX_FAILURES_IP,
      maxFailuresPerUser: env.GATEWAY_REGULATION_MAX_FAILURES_USER,
      windowMs: env.GATEWAY_REGULATION_WINDOW,
      banMs: env.GATEWAY_REGULATION_BAN,
      maxBanMs: Math.max(env.GATEWAY_REGULATION_MAX_BAN, env.GATEWAY_REGULATION_BAN),
    },
    passwords: {
      changeEnabled: env.GATEWAY_PASSWORD_CHANGE,
      signOutOthers: env.GATEWAY_PASSWORD_CHANGE_SIGN_OUT === 'others',
      ...(env.GATEWAY_PASSWORD_EXPIRY_WARNING ? { expiryWarningMs: env.GATEWAY_PASSWORD_EXPIRY_WARNING } : {}),
    },
    mfa: {
      mode: env.GATEWAY_MFA,
      requiredGroups: env.GATEWAY_MFA_REQUIRED_GROUPS,
      ...(env.GATEWAY_MFA_KEY ? { key: env.GATEWAY_MFA_KEY } : {}),
      enrolment: env.GATEWAY_MFA_ENROLMENT,
      enrolmentLinkTtlMs: env.GATEWAY_MFA_ENROLMENT_LINK_TTL,
      ...(env.GATEWAY_MFA_REMEMBER_DEVICE ? { rememberDeviceMs: env.GATEWAY_MFA_REMEMBER_DEVICE } : {}),
      issuer: env.GATEWAY_MFA_ISSUER ?? env.GATEWAY_BRAND_TITLE,
    },
    ...(env.GATEWAY_KERBEROS
      ? {
          kerberos: {
            keytab: env.GATEWAY_KERBEROS_KEYTAB_FILE ? { file: env.GATEWAY_KERBEROS_KEYTAB_FILE } : { bytes: Buffer.from(env.GATEWAY_KERBEROS_KEYTAB ?? '', 'base64') },
            servicePrincipal: env.GATEWAY_KERBEROS_SERVICE_PRINCIPAL ?? `HTTP/${env.GATEWAY_PUBLIC_URL.hostname}`,
            realms: env.GATEWAY_KERBEROS_REALMS,
            replayCacheDir: env.GATEWAY_KERBEROS_REPLAY_CACHE_DIR ?? tmpdir(),
            clockSkewMs: env.GATEWAY_KERBEROS_CLOCK_SKEW,
          },
        }
      : {}),
    apiClients: { basicAuth: env.GATEWAY_API_BASIC_AUTH, basicCacheTtlMs: env.GATEWAY_API_BASIC_AUTH_CACHE_TTL },
    identity: {
      remoteUserHeader: env.GATEWAY_REMOTE_USER_HEADER,
      paperlessCookiePrefix: env.GATEWAY_PAPERLESS_COOKIE_PREFIX,
      reservedUsernames: env.GATEWAY_RESERVED_USERNAMES,
    },
    log: { level: env.GATEWAY_LOG_LEVEL, requests: env.GATEWAY_LOG_REQUESTS },
    ops: {
      ...(env.GATEWAY_METRICS_TOKEN ? { metricsToken: env.GATEWAY_METRICS_TOKEN } : {}),
      ...(env.GATEWAY_METRICS_ADDRESS ? { metricsAddress: hostPort(env.GATEWAY_METRICS_ADDRESS) } : {}),
      shutdownTimeoutMs: env.GATEWAY_SHUTDOWN_TIMEOUT,
    },
    web: {
      ...(env.GATEWAY_LANGUAGE !== 'auto' ? { language: env.GATEWAY_LANGUAGE } : {}),
      ...(env.GATEWAY_REMEMBER_ME_DURATION ? { rememberMeMs: env.GATEWAY_REMEMBER_ME_DURATION } : {}),
      brand: {
        title: env.GATEWAY_BRAND_TITLE,
        accent: env.GATEWAY_BRAND_ACCENT.toLowerCase(),
        ...(env.GATEWAY_BRAND_LOGO ? { logo: env.GATEWAY_BRAND_LOGO } : {}),
        ...(env.GATEWAY_BRAND_FOOTER ? { footer: env.GATEWAY_BRAND_FOOTER } : {}),
        ...(env.GATEWAY_BRAND_FOOTER_URL ? { footerUrl: env.GATEWAY_BRAND_FOOTER_URL } : {}),
      },
    },
  };
}

/** A logo file must be readable and small: the gateway serves it on every sign-in page. */
function checkLogoFile(path: string, files: ConfigFiles, problems: ConfigProblem[]): void {
  let size: number;
  try {
    size = files.size(path);
  } catch {
    problems.push({ variable: 'GATEWAY_BRAND_LOGO', message: `cannot read the file "${path}"` });
    return;
  }
  if (size > MAX_LOGO_BYTES) problems.push({ variable: 'GATEWAY_BRAND_LOGO', message: `is ${Math.round(size / 1024)} KiB; a logo may be 1 MiB at most` });
}

/** The CA file is read at every LDAP connection: a missing one must stop the start, not the first sign-in. */
function checkCaFile(path: string, files: ConfigFiles, problems: ConfigProblem[]): void {
  let text: string;
  try {
    text = files.read(path);
  } catch (err) {
    problems.push({ variable: 'GATEWAY_LDAP_CA_FILE', message: `cannot read ${path}: ${fileError(err)}` });
    return;
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push({ variable: 'GATEWAY_LDAP_CA_FILE', message: `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` });
  }
}

/** The keytab is read by GSSAPI at each sign-in: a missing or empty one must stop the start (check-config says whether it holds the principal). */
function checkKeytabFile(path: string, files: ConfigFiles, problems: ConfigProblem[]): void {
  let size: number;
  try {
    // Read, not only looked at: the gateway's user must be able to open it.
    size = files.read(path).length;
  } catch (err) {
    problems.push({ variable: 'GATEWAY_KERBEROS_KEYTAB_FILE', message: `cannot read ${path}: ${fileError(err)}` });
    return;
  }
  if (size === 0) problems.push({ variable: 'GATEWAY_KERBEROS_KEYTAB_FILE', message: `${path} is empty; export the service principal's keys into it (ktpass, or samba-tool domain exportkeytab)` });
}

/**
 * Variables of compose.yaml, not of the gateway: compose hands the whole .env to the gateway, so
 * they reach it and are not typos.
 */
export const COMPOSE_VARIABLES = [
  'GATEWAY_PUBLISH_ADDRESS',
  'GATEWAY_PUBLISH_PORT',
  'GATEWAY_PROVISIONING_HOST_FILE',
  'GATEWAY_ENV_FILE',
  'GATEWAY_HTTPS_CERTIFICATE',
  'GATEWAY_HTTPS_PROXY_ADDRESS',
  'GATEWAY_FRONT_SUBNET',
  'GATEWAY_FRONT_IP_RANGE',
];

/**
 * Reads and validates the configuration; throws ConfigError naming every bad variable.
 * `files` reads what settings point at (`_FILE` secrets, the mapping, a logo); tests may pass their own.
 */
export function loadConfig(environment: Environment = process.env, files: ConfigFiles = diskFiles): Config {
  const problems: ConfigProblem[] = [];
  const env = resolveSecretFiles(environment, files, problems);
  const picked = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('GATEWAY_') && v !== ''));
  const known = new Set([...Object.keys(envSchema.shape), ...SECRET_VARIABLES.map((n) => `${n}_FILE`), ...COMPOSE_VARIABLES]);
  for (const name of Object.keys(picked)) {
    if (!known.has(name)) problems.push({ variable: name, message: 'is not a setting of this gateway (a typo?)' });
  }
  // Checked on the raw values so it is reported even when other settings are wrong too.
  if (envSchema.shape.GATEWAY_PROVISIONING.safeParse(picked.GATEWAY_PROVISIONING).data !== 'off' && !picked.GATEWAY_PAPERLESS_TOKEN) {
    problems.push({
      variable: 'GATEWAY_PAPERLESS_TOKEN',
      message: "is required while GATEWAY_PROVISIONING is on (a Paperless superuser's API token; or set GATEWAY_PROVISIONING=off)",
    });
  }
  const parsed = envSchema.safeParse(picked);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ variable: String(issue.path[0] ?? 'configuration'), message: issue.message });
    }
  }
  let mapping: ProvisioningMapping = DEFAULT_MAPPING;
  try {
    mapping = loadMapping(picked.GATEWAY_PROVISIONING_FILE, files);
  } catch (err) {
    problems.push({ variable: 'GATEWAY_PROVISIONING_FILE', message: (err as Error).message });
  }
  // Checked on its own so it is reported alongside any other problem.
  const logo = envSchema.shape.GATEWAY_BRAND_LOGO.safeParse(picked.GATEWAY_BRAND_LOGO).data;
  if (logo && 'file' in logo) checkLogoFile(logo.file, files, problems);
  if (picked.GATEWAY_LDAP_CA_FILE) checkCaFile(picked.GATEWAY_LDAP_CA_FILE.trim(), files, problems);
  if (picked.GATEWAY_KERBEROS_KEYTAB_FILE) checkKeytabFile(picked.GATEWAY_KERBEROS_KEYTAB_FILE.trim(), files, problems);
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return toConfig(parsed.data, mapping);
}

/** `host:port` or `[v6]:port`, already checked by the schema. */
function hostPort(value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(':');
  return { host: value.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(value.slice(colon + 1)) };
}
