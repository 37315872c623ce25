import { randomBytes } from 'node:crypto';
import { CommandUsageError } from '../server/usage-error.js';

/** What `init` asks for: what it cannot make up. */
export interface InitAnswers {
  publicUrl: string;
  preset: string;
  ldapUrl: string;
  bindDn: string;
  bindPassword: string;
  userBase: string;
}

/** The name of the gateway's own Paperless account, made by compose's paperless-bootstrap service. */
export const SERVICE_ACCOUNT = 'gateway+service';

const PLAIN = /^[A-Za-z0-9_./:@,=+-]*$/;

/**
 * One `.env` value as both compose v1 (python-dotenv) and compose v2 read it back unchanged:
 * plain when it can be, otherwise in single quotes, where neither expands `$NAME` nor cuts at `#`.
 */
export function envValue(name: string, value: string): string {
  if (PLAIN.test(value)) return value;
  // Compose v1 expands ${…} even in single quotes; v2 does not: neither can be written safely.
  if (value.includes("'") || value.includes('${') || /[\r\n]/.test(value)) {
    throw new CommandUsageError(`${name}: a value with a single quote, \${ or a line break cannot be written to .env safely; put it in a file and set ${name}_FILE instead (README: "Settings")`);
  }
  return `'${value}'`;
}

/** A fresh secret: hex, so it survives every .env reader and shell. */
export function freshSecret(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** The whole .env of a compose install, with fresh secrets. */
export function renderEnvFile(answers: InitAnswers, now: Date = new Date(), secret: (bytes: number) => string = freshSecret): string {
  const line = (name: string, value: string) => `${name}=${envValue(name, value)}`;
  return [
    `# paperless-ldap-gateway, written by \`paperless-ldap-gateway init\` on ${now.toISOString().slice(0, 10)}.`,
    '# compose hands every line of this file to the gateway; README lists every setting.',
    '# It holds secrets: keep it private (it is written readable by its owner only).',
    '',
    '# The address people type to reach Paperless.',
    line('GATEWAY_PUBLIC_URL', answers.publicUrl),
    '# The port the gateway listens on, on this host (compose only).',
    'GATEWAY_PUBLISH_PORT=8080',
    '',
    '# The directory (README: "Directory settings").',
    line('GATEWAY_LDAP_PRESET', answers.preset),
    line('GATEWAY_LDAP_URL', answers.ldapUrl),
    line('GATEWAY_LDAP_BIND_DN', answers.bindDn),
    line('GATEWAY_LDAP_BIND_PASSWORD', answers.bindPassword),
    line('GATEWAY_LDAP_USER_BASE', answers.userBase),
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
  ].join('\n');
}
