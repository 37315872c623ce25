import { readFileSync } from 'node:fs';
import { envSchema, SECRET_VARIABLES, type Env } from './schema.js';
import type { Config } from './config.js';
import { ConfigError, type ConfigProblem } from './errors.js';

type Environment = Record<string, string | undefined>;

/** Replaces every `<NAME>_FILE` secret with the file's content (trailing newline trimmed). */
function resolveSecretFiles(env: Environment, problems: ConfigProblem[]): Environment {
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
      out[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push({ variable: fileVar, message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
    }
  }
  return out;
}

function toConfig(env: Env): Config {
  return {
    server: {
      host: env.GATEWAY_HOST,
      port: env.GATEWAY_PORT,
      publicUrl: env.GATEWAY_PUBLIC_URL,
      trustProxy: env.GATEWAY_TRUST_PROXY,
    },
    upstream: { url: env.GATEWAY_UPSTREAM_URL, timeoutMs: env.GATEWAY_UPSTREAM_TIMEOUT },
    redis: { url: env.GATEWAY_REDIS_URL, keyPrefix: env.GATEWAY_REDIS_KEY_PREFIX },
    session: {
      secret: env.GATEWAY_SESSION_SECRET,
      cookieName: env.GATEWAY_SESSION_COOKIE_NAME,
      idleTimeoutMs: env.GATEWAY_SESSION_IDLE_TIMEOUT,
      maxLifetimeMs: env.GATEWAY_SESSION_MAX_LIFETIME,
      secureCookie: env.GATEWAY_PUBLIC_URL.protocol === 'https:',
    },
    ldap: {
      urls: env.GATEWAY_LDAP_URL.split(/[\s,]+/).filter(Boolean),
      bindDn: env.GATEWAY_LDAP_BIND_DN,
      bindPassword: env.GATEWAY_LDAP_BIND_PASSWORD,
      userBase: env.GATEWAY_LDAP_USER_BASE,
      userFilter: env.GATEWAY_LDAP_USER_FILTER,
      attributes: {
        username: env.GATEWAY_LDAP_USERNAME_ATTRIBUTE,
        mail: env.GATEWAY_LDAP_MAIL_ATTRIBUTE,
        firstName: env.GATEWAY_LDAP_FIRST_NAME_ATTRIBUTE,
        lastName: env.GATEWAY_LDAP_LAST_NAME_ATTRIBUTE,
        displayName: env.GATEWAY_LDAP_DISPLAY_NAME_ATTRIBUTE,
      },
      ...(env.GATEWAY_LDAP_GROUP_BASE ? { groupBase: env.GATEWAY_LDAP_GROUP_BASE } : {}),
      groupFilter: env.GATEWAY_LDAP_GROUP_FILTER,
      groupNameAttribute: env.GATEWAY_LDAP_GROUP_NAME_ATTRIBUTE,
      allowedGroups: env.GATEWAY_LDAP_ALLOWED_GROUPS,
      startTls: env.GATEWAY_LDAP_STARTTLS,
      ...(env.GATEWAY_LDAP_CA_FILE ? { caFile: env.GATEWAY_LDAP_CA_FILE } : {}),
      connectTimeoutMs: env.GATEWAY_LDAP_CONNECT_TIMEOUT,
      timeoutMs: env.GATEWAY_LDAP_TIMEOUT,
    },
    identity: {
      remoteUserHeader: env.GATEWAY_REMOTE_USER_HEADER,
      paperlessCookiePrefix: env.GATEWAY_PAPERLESS_COOKIE_PREFIX,
    },
    log: { level: env.GATEWAY_LOG_LEVEL },
  };
}

/** Reads and validates the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(environment: Environment = process.env): Config {
  const problems: ConfigProblem[] = [];
  const env = resolveSecretFiles(environment, problems);
  const picked = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('GATEWAY_') && v !== ''));
  const known = new Set([...Object.keys(envSchema.shape), ...SECRET_VARIABLES.map((n) => `${n}_FILE`)]);
  for (const name of Object.keys(picked)) {
    if (!known.has(name)) problems.push({ variable: name, message: 'is not a setting of this gateway (a typo?)' });
  }
  const parsed = envSchema.safeParse(picked);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ variable: String(issue.path[0] ?? 'configuration'), message: issue.message });
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return toConfig(parsed.data);
}
