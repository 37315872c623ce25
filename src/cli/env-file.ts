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
  const wayOut = `put it in a file and set ${name}_FILE instead (README: "Settings")`;
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
