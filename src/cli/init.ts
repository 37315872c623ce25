import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { read } from 'read';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/errors.js';
import { diskFiles, type ConfigFiles } from '../config/files.js';
import { PRESET_NAMES } from '../config/directory-presets.js';
import { loadConfig } from '../config/load.js';
import { LdapDirectory } from '../directory/ldap-directory.js';
import { CommandUsageError } from '../server/usage-error.js';
import type { CommandLine, CommandSpec } from './command-line.js';
import { probeDirectory } from './directory-probe.js';
import { CA_COPY, readEnvValue, renderEnvFile, type HostFacts, type InitAnswers } from './env-file.js';
import { collectAnswers, toInitAnswers, type Asker, type Given } from './init-answers.js';
import { InitDirectoryCheckError } from './init-errors.js';
import { hostFacts } from './init-host.js';
import { renderMappingFile } from './mapping-file.js';

export const INIT: CommandSpec = {
  name: 'init',
  summary: 'write .env and provisioning.yaml for compose, with fresh secrets; asks only for what it cannot know',
  synopsis:
    '[--output FILE] [--public-url URL] [--preset NAME] [--ldap-url URL] [--ca-file PEM] [--bind-dn DN] [--bind-password PASSWORD] [--user-base DN] ' +
    '[--admin-group NAME] [--user-group NAME] [--user-permissions viewer|editor] [--tls-front caddy|ADDRESS|none] [--certificate auto|internal|files] ' +
    '[--publish ADDRESS:PORT] [--database postgres|sqlite] [--no-check]',
  details: [
    'Asks for each value not given as an option (the password without echo). Without a terminal,',
    'every value without a default must be given. It tries the directory with the answers (the',
    'service account, one user search, both groups) and writes nothing when that fails.',
    'Beside FILE it writes provisioning.yaml (what each group may do in Paperless) and, with',
    '--ca-file, certs/ldap-ca.pem. It never overwrites: an existing FILE or provisioning.yaml is an error.',
    'In Docker (the CA in this folder; TZ for Paperless\'s time zone, UTC without it):',
    '  docker run --rm -it --user "$(id -u):$(id -g)" -e TZ="$(cat /etc/timezone)" -v "$PWD:/out" paperless-ldap-gateway:local init --output /out/.env --ca-file /out/ca.pem',
  ],
  options: {
    output: { type: 'string', value: 'FILE', description: 'the .env to write (default .env; - prints it alone, writing nothing)' },
    'public-url': { type: 'string', value: 'URL', description: 'the address people type, e.g. https://paperless.example.com' },
    preset: { type: 'string', value: 'NAME', description: `the directory's kind: ${PRESET_NAMES.join(', ')} (default openldap)` },
    'ldap-url': { type: 'string', value: 'URL', description: 'the directory, e.g. ldaps://dc1.example.com' },
    'ca-file': { type: 'string', value: 'PEM', description: "the directory's CA for ldaps:// and StartTLS; copied to certs/ldap-ca.pem" },
    'bind-dn': { type: 'string', value: 'DN', description: "the gateway's service account in the directory" },
    'bind-password': { type: 'string', value: 'PASSWORD', description: 'its password (asked without echo when left out; an option is seen by ps)' },
    'user-base': { type: 'string', value: 'DN', description: 'where people are, e.g. ou=people,dc=example,dc=com' },
    'admin-group': { type: 'string', value: 'NAME', description: 'the directory group whose members become Paperless superusers' },
    'user-group': { type: 'string', value: 'NAME', description: 'the directory group whose members may sign in and use Paperless' },
    'user-permissions': { type: 'string', value: 'ROLE', description: 'what the user group may do: viewer (default) or editor' },
    'tls-front': { type: 'string', value: 'FRONT', description: "caddy (compose's https profile), your proxy's ADDRESS or CIDR, or none" },
    certificate: { type: 'string', value: 'KIND', description: "with caddy: auto (default, Let's Encrypt), internal (Caddy's CA) or files" },
    publish: { type: 'string', value: 'ADDRESS:PORT', description: "where the gateway's port is published (default 0.0.0.0:8080; 127.0.0.1:8080 with caddy)" },
    database: { type: 'string', value: 'KIND', description: "Paperless's database: postgres (default) or sqlite" },
    'no-check': { type: 'boolean', description: 'do not try the directory (where it cannot be reached from here)' },
  },
  positionals: { min: 0, max: 0 },
};

/** Values compose sets itself; init checks the answers as the gateway will run with them. */
const COMPOSE_FIXED = { GATEWAY_UPSTREAM_URL: 'http://paperless:8000', GATEWAY_REDIS_URL: 'redis://redis:6379/0' };
/** The folders compose mounts into Paperless beside the .env. */
const PAPERLESS_FOLDERS = ['consume', 'export'];
/** Where the check reads the mapping init is about to write (it is not on disk yet). */
const MAPPING_UNDER_CHECK = 'provisioning.yaml';

export type InitIo = Asker;

/** Questions on the terminal; prompts and notes go to stderr so `--output -` keeps stdout for the file. */
export function terminalIo(): InitIo {
  return {
    interactive: process.stdin.isTTY === true,
    ask: async (prompt, { silent, fallback }) =>
      (await read({ prompt, silent, replace: silent ? '*' : '', output: process.stderr, ...(fallback ? { default: fallback } : {}) })).trim(),
    say: (text) => process.stderr.write(`${text}\n`),
  };
}

/** The files init writes, all in the folder of the .env. */
interface Targets {
  env: string;
  mapping: string;
  ca?: { from: string; to: string; text: string };
}

/** `init`: returns what to print on stdout. */
export async function initCommand(line: CommandLine, io: InitIo = terminalIo(), host: HostFacts = hostFacts()): Promise<string> {
  const options: Given = {};
  for (const [flag, value] of Object.entries(line.values)) if (typeof value === 'string' && value.trim() !== '') options[flag] = value.trim();
  const given = await collectAnswers(options, io);
  const answers = toInitAnswers(given);
  const envText = renderEnvFile(answers, host);
  const mappingText = renderMappingFile(answers);
  const output = options.output ?? '.env';
  const folder = dirname(output);
  const caFrom = given['ca-file'];
  const targets: Targets = {
    env: output,
    mapping: join(folder, 'provisioning.yaml'),
    ...(caFrom ? { ca: { from: caFrom, to: join(folder, 'certs', CA_COPY), text: readFileSync(caFrom, 'utf8') } } : {}),
  };
  const config = checkAnswers(envText, mappingText, caFrom);
  if (output !== '-') refuseExisting(targets);
  warn(answers, io);
  if (line.values['no-check'] !== true) {
    const steps = await probeDirectory(new LdapDirectory(config.ldap), config.ldap, { 'admin-group': answers.adminGroup, 'user-group': answers.userGroup });
    if (steps.some((s) => !s.ok)) throw new InitDirectoryCheckError(steps);
  }
  if (output === '-') {
    io.say(
      `init: printed the .env only; ${targets.ca ? `provisioning.yaml and certs/${CA_COPY} were` : 'provisioning.yaml was'} not written. ` +
        `Run init with --output FILE to write ${targets.ca ? 'them' : 'it'} beside the .env (README: "Production").`,
    );
    return envText;
  }
  writeAll(targets, envText, mappingText, host);
  const written = [output, targets.mapping, ...(targets.ca ? [targets.ca.to] : [])];
  const files = answers.tlsFront.kind === 'caddy' && answers.tlsFront.certificate === 'files' ? ' put your certificate and key in certs/https.crt and certs/https.key, then' : '';
  return `Wrote ${written.join(', ')}, and made the folders consume and export. Next, beside them:${files} docker compose up -d (README: "Production").\n`;
}

/** What the admin should know before relying on the answers. */
function warn(answers: InitAnswers, io: InitIo): void {
  if (answers.tlsFront.kind === 'none' && answers.publicUrl.startsWith('https:')) {
    io.say(
      'init: warning: the public URL is https, but nothing in front serves HTTPS (--tls-front none): the gateway speaks plain HTTP, ' +
        "and browsers will not keep its secure cookies over it. Use --tls-front caddy, or your proxy's address (README: \"Production\").",
    );
  }
}

/** Fails before anything is written when any file init would write is there already. */
function refuseExisting(targets: Targets): void {
  for (const path of [targets.env, targets.mapping]) {
    if (existsSync(path)) throw new CommandUsageError(`init: ${path} exists; init never overwrites it, and wrote nothing (move it away, or edit it: README lists every setting)`);
  }
  if (targets.ca && existsSync(targets.ca.to) && readFileSync(targets.ca.to, 'utf8') !== targets.ca.text) {
    throw new CommandUsageError(`init: ${targets.ca.to} exists and holds another certificate; init never overwrites it, and wrote nothing`);
  }
}

/** Writes the .env (0600: it holds the secrets), the mapping and the CA; on a failure, removes what it wrote. */
function writeAll(targets: Targets, envText: string, mappingText: string, host: HostFacts): void {
  const done: string[] = [];
  const write = (path: string, text: string, mode: number) => {
    // 'wx': never overwrite, even a file that appeared since refuseExisting looked.
    writeFileSync(path, text, { flag: 'wx', mode });
    done.push(path);
  };
  try {
    write(targets.env, envText, 0o600);
    write(targets.mapping, mappingText, 0o644);
    if (targets.ca && !existsSync(targets.ca.to)) {
      mkdirSync(dirname(targets.ca.to), { recursive: true });
      write(targets.ca.to, targets.ca.text, 0o644);
    }
    // Made now, by whoever runs init (USERMAP_UID): a folder docker makes for a bind mount is root's,
    // and Paperless, running as that user, could not write its exports there.
    for (const folder of PAPERLESS_FOLDERS) {
      const path = join(dirname(targets.env), folder);
      if (existsSync(path)) continue;
      mkdirSync(path);
      // Run as root (USERMAP_* then say 1000): hand the folders to the user Paperless runs as.
      if (process.getuid?.() === 0) chownSync(path, host.uid, host.gid);
    }
  } catch (err) {
    for (const path of done) rmSync(path, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CommandUsageError(`init: ${(err as NodeJS.ErrnoException).path ?? 'a file'} appeared meanwhile; init never overwrites it, and wrote nothing`);
    throw new CommandUsageError(`init: cannot write: ${(err as Error).message}; nothing written`);
  }
}

/**
 * The answers must make a configuration the gateway accepts, with this mapping, or nothing is
 * written. The CA is read where it is now, not where compose will mount it.
 */
function checkAnswers(envText: string, mappingText: string, caFile: string | undefined): Config {
  const env: Record<string, string> = { ...COMPOSE_FIXED, GATEWAY_PROVISIONING_FILE: MAPPING_UNDER_CHECK };
  for (const l of envText.split('\n')) {
    const m = /^(GATEWAY_[A-Z_]+)=(.*)$/.exec(l);
    if (m) env[m[1] as string] = readEnvValue(m[2] as string);
  }
  if (caFile) env.GATEWAY_LDAP_CA_FILE = caFile;
  const files: ConfigFiles = { read: (path) => (path === MAPPING_UNDER_CHECK ? mappingText : diskFiles.read(path)), size: diskFiles.size };
  try {
    return loadConfig(env, files);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new CommandUsageError(`init: nothing written, the answers do not make a configuration the gateway accepts:\n${err.message}`);
  }
}
