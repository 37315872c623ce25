import { closeSync, constants, existsSync, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { read } from 'read';
import type { Config } from '../config/config.js';
import { ConfigError } from '../config/errors.js';
import { diskFiles, type ConfigFiles } from '../config/files.js';
import { loadConfig } from '../config/load.js';
import { LdapDirectory } from '../directory/ldap-directory.js';
import { CommandUsageError } from './usage-error.js';
import type { CommandLine } from './command-line.js';
import { probeDirectory } from './directory-probe.js';
import { CA_COPY, readEnvValue, renderEnvFile, type HostFacts, type InitAnswers } from './env-file.js';
import { collectAnswers, toInitAnswers, type Asker, type Given } from './init-answers.js';
import { InitDirectoryCheckError } from './init-errors.js';
import { hostFacts } from './init-host.js';
import { renderMappingFile } from './mapping-file.js';

/** Values compose sets itself; init checks the answers as the gateway will run with them. */
const COMPOSE_FIXED = { GATEWAY_UPSTREAM_URL: 'http://paperless:8000', GATEWAY_REDIS_URL: 'redis://redis:6379/0' };
/**
 * The folders compose mounts into Paperless beside the .env, 0750: exports hold every document,
 * and consume holds documents on their way in. Paperless, as USERMAP_UID, is their owner and
 * needs no more; an admin who lets a scanner's group drop files in consume widens it by hand.
 */
const PAPERLESS_FOLDERS = ['consume', 'export'];
const PAPERLESS_FOLDER_MODE = 0o750;
/** Caddy's certificate and key with --certificate files: a folder only Caddy mounts, not even readable by the group. */
export const HTTPS_FOLDER = 'https';
const HTTPS_FOLDER_MODE = 0o700;
/** The folder of the directory's CA, which compose mounts into the gateway (a public certificate). */
const CERTS_FOLDER = 'certs';
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
  /** Made for --certificate files, for the admin to put Caddy's certificate and key in. */
  https?: string;
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
    ...(caFrom ? { ca: { from: caFrom, to: join(folder, CERTS_FOLDER, CA_COPY), text: readFileSync(caFrom, 'utf8') } } : {}),
    ...(answers.tlsFront.kind === 'caddy' && answers.tlsFront.certificate === 'files' ? { https: join(folder, HTTPS_FOLDER) } : {}),
  };
  const config = checkAnswers(envText, mappingText, caFrom);
  if (output !== '-') {
    refuseUnsafeFolder(folder);
    refuseExisting(targets);
  }
  warn(answers, io, options.publish !== undefined);
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
  const files = targets.https ? ` put your certificate (with its chain) and key in ${HTTPS_FOLDER}/https.crt and ${HTTPS_FOLDER}/https.key (only Caddy mounts that folder), then` : '';
  const made = targets.https ? `consume, export and ${HTTPS_FOLDER}` : 'consume and export';
  return `Wrote ${written.join(', ')}, and made the folders ${made}. Next, beside them:${files} docker compose up -d (README: "Production").\n`;
}

/** `GATEWAY_TRUST_PROXY` entries that stand for more than one address: a CIDR wider than one host, or a keyword. */
export function proxyRanges(addresses: string): string[] {
  return addresses
    .split(',')
    .map((a) => a.trim())
    .filter((a) => {
      if (['loopback', 'linklocal', 'uniquelocal'].includes(a.toLowerCase())) return true;
      const slash = a.indexOf('/');
      if (slash < 0) return false;
      // A mask in dotted form (10.0.0.0/255.255.255.0) is a range unless all ones.
      const bits = a.slice(slash + 1);
      const single = a.includes(':') ? '128' : '32';
      return !(bits === single || bits === '255.255.255.255' || Number(bits) === Number(single));
    });
}

/** What the admin should know before relying on the answers. */
function warn(answers: InitAnswers, io: InitIo, publishGiven: boolean): void {
  if (answers.tlsFront.kind === 'proxy') {
    const ranges = proxyRanges(answers.tlsFront.addresses);
    if (ranges.length > 0) {
      io.say(
        `init: warning: --tls-front ${ranges.join(', ')} is a range, not one address: anyone in it who reaches the gateway's published port ` +
          "directly can set X-Forwarded-For and choose the address the gateway logs, rate-limits and bans. Name your proxy's own address if you can " +
          '(the ip of login.success in the log shows it), and publish the gateway only where the proxy reaches it (README: "HTTPS").',
      );
    }
    if (!publishGiven) {
      io.say(
        `init: note: the gateway is published on ${answers.publish.address}:${answers.publish.port}; publish it only where your proxy reaches it ` +
          '(--publish ADDRESS:PORT, or GATEWAY_PUBLISH_ADDRESS in the .env): whoever reaches the port directly skips your proxy and its HTTPS.',
      );
    }
  }
  if (answers.tlsFront.kind === 'none' && answers.publicUrl.startsWith('https:')) {
    io.say(
      'init: warning: the public URL is https, but nothing in front serves HTTPS (--tls-front none): the gateway speaks plain HTTP, ' +
        "and browsers will not keep its secure cookies over it. Use --tls-front caddy, or your proxy's address (README: \"Production\").",
    );
  }
}

const runsAsRoot = () => process.geteuid?.() === 0;

/**
 * Run as root, init makes folders and hands two of them to USERMAP_UID: in a folder others may
 * write, anyone could plant or swap a name there (a symlink to /etc, a folder of their own that
 * Paperless would then export every document into). Group root's members may write: they could
 * be root anyway.
 */
function refuseUnsafeFolder(folder: string): void {
  if (!runsAsRoot()) return;
  let stat: Stats;
  try {
    stat = statSync(folder);
  } catch {
    return; // writing there fails, and says why
  }
  const others = (stat.mode & 0o002) !== 0 || ((stat.mode & 0o020) !== 0 && stat.gid !== 0);
  if (others) {
    throw new CommandUsageError(
      `init: ${folder} may be written by others (mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')}); run as root, init writes nothing there, ` +
        'since anyone who may write it could plant or swap what init makes (a link to another file, a folder of their own for the exports). ' +
        'Use a folder only its owner may write (chmod go-w FOLDER), or run init as a user who is not root',
    );
  }
}

/** Fails before anything is written when the CA's folder is there but is not a plain folder (a symlink would be followed by root). */
function refuseOddCerts(certs: string): void {
  let stat: Stats;
  try {
    stat = lstatSync(certs);
  } catch {
    return;
  }
  if (stat.isSymbolicLink() || !stat.isDirectory()) {
    throw new CommandUsageError(`init: ${certs} is ${stat.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}; init writes ${CA_COPY} only into a plain folder there, and wrote nothing (remove it, or make it a folder)`);
  }
}

/**
 * Makes a folder that did not exist, with this mode whatever the umask, and, run as root, gives it
 * to uid:gid. Through a descriptor opened without following links and checked to be the folder
 * just made: chown by name follows a symlink swapped in meanwhile, and root would give away any file.
 * `meanwhile` runs between the steps (tests swap the folder there, as a racing local user would).
 */
export function makeFolder(path: string, mode: number, owner?: { uid: number; gid: number }, meanwhile: (step: 'made' | 'checked') => void = () => undefined): void {
  mkdirSync(path, { mode: 0o700 });
  meanwhile('made');
  const made = lstatSync(path);
  if (!made.isDirectory() || made.uid !== process.geteuid?.()) throw new Error(`${path} was replaced after init made it`);
  meanwhile('checked');
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const opened = fstatSync(fd);
    // The same inode that lstat saw, and still empty as made (not a folder of someone's moved in
    // before lstat looked); read through the descriptor where Linux shows it as a folder.
    const viaFd = `/proc/self/fd/${fd}`;
    const entries = readdirSync(existsSync(`${viaFd}/`) ? viaFd : path);
    if (opened.dev !== made.dev || opened.ino !== made.ino || !opened.isDirectory() || entries.length > 0) throw new Error(`${path} was replaced after init made it`);
    fchmodSync(fd, mode);
    if (owner && runsAsRoot()) fchownSync(fd, owner.uid, owner.gid);
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs `use` with paths inside this folder as opened now, without following a link: where Linux
 * shows a descriptor as a folder (/proc/self/fd), a folder swapped for a link after the checks
 * is not written into. Elsewhere, the path itself.
 */
function withFolder(path: string, use: (at: (name: string) => string) => void): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const viaFd = existsSync(`/proc/self/fd/${fd}/`);
    use((name) => (viaFd ? `/proc/self/fd/${fd}/${name}` : join(path, name)));
  } finally {
    closeSync(fd);
  }
}

/** Whether anything, a dangling symlink included, has this name (existsSync follows links). */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Fails before anything is written when any file init would write is there already. */
function refuseExisting(targets: Targets): void {
  for (const path of [targets.env, targets.mapping]) {
    if (existsSync(path)) throw new CommandUsageError(`init: ${path} exists; init never overwrites it, and wrote nothing (move it away, or edit it: README lists every setting)`);
  }
  if (targets.ca) refuseOddCerts(dirname(targets.ca.to));
  if (targets.ca && existsSync(targets.ca.to) && readFileSync(targets.ca.to, 'utf8') !== targets.ca.text) {
    throw new CommandUsageError(`init: ${targets.ca.to} exists and holds another certificate; init never overwrites it, and wrote nothing`);
  }
}

/** Writes the .env (0600: it holds the secrets), the mapping and the CA; on a failure, removes what it wrote. */
function writeAll(targets: Targets, envText: string, mappingText: string, host: HostFacts): void {
  const done: string[] = [];
  const folders: string[] = [];
  const write = (path: string, text: string, mode: number) => {
    // 'wx': never overwrite, even a file that appeared since refuseExisting looked; O_EXCL also
    // refuses a symlink planted under that name rather than writing where it points.
    writeFileSync(path, text, { flag: 'wx', mode });
    done.push(path);
  };
  const folder = (path: string, mode: number, owner?: HostFacts) => {
    makeFolder(path, mode, owner);
    folders.push(path);
  };
  try {
    write(targets.env, envText, 0o600);
    write(targets.mapping, mappingText, 0o644);
    if (targets.ca && !existsSync(targets.ca.to)) {
      const certs = dirname(targets.ca.to);
      // Looked at again: it may have appeared since refuseExisting; never follow a planted link.
      refuseOddCerts(certs);
      if (!present(certs)) folder(certs, 0o755);
      withFolder(certs, (at) => write(at(CA_COPY), targets.ca?.text ?? '', 0o644));
      // Removed by its name on a failure: the descriptor is closed by then.
      done[done.length - 1] = targets.ca.to;
    }
    // Made now, by whoever runs init (USERMAP_UID): a folder docker makes for a bind mount is root's,
    // and Paperless, running as that user, could not write its exports there. One that is there
    // (a folder, or a link the admin made) is left as it is: never followed, never given away.
    for (const name of PAPERLESS_FOLDERS) {
      const path = join(dirname(targets.env), name);
      // Run as root (USERMAP_* then say 1000): hand the folders to the user Paperless runs as, and no one else.
      if (!present(path)) folder(path, PAPERLESS_FOLDER_MODE, host);
    }
    // Caddy runs as root in its container and reads it whoever owns it: the admin who ran init keeps it.
    if (targets.https && !present(targets.https)) folder(targets.https, HTTPS_FOLDER_MODE);
  } catch (err) {
    for (const path of done) rmSync(path, { force: true });
    for (const path of folders.reverse()) removeMadeFolder(path);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CommandUsageError(`init: ${(err as NodeJS.ErrnoException).path ?? 'a file'} appeared meanwhile; init never overwrites it, and wrote nothing`);
    throw new CommandUsageError(`init: cannot write: ${(err as Error).message}; nothing written`);
  }
}

/** Removes a folder init made, if it is still an empty folder (rmdir never follows a link). */
function removeMadeFolder(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // Not empty, replaced, or gone: left for the admin.
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
