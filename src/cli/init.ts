import { writeFileSync } from 'node:fs';
import { read } from 'read';
import { ConfigError } from '../config/errors.js';
import { PRESET_NAMES } from '../config/directory-presets.js';
import { loadConfig } from '../config/load.js';
import { CommandUsageError } from '../server/usage-error.js';
import type { CommandLine, CommandSpec } from './command-line.js';
import { readEnvValue, renderEnvFile, type InitAnswers } from './env-file.js';

export const INIT: CommandSpec = {
  name: 'init',
  summary: 'write a complete .env for compose, with fresh secrets; asks only for what it cannot know',
  synopsis: '[--output FILE] [--public-url URL] [--preset NAME] [--ldap-url URL] [--bind-dn DN] [--bind-password PASSWORD] [--user-base DN]',
  details: [
    'Asks for each value not given as an option (the password without echo). Without a terminal,',
    'every value must be given. It never overwrites: an existing FILE is an error.',
    'In Docker: docker run --rm -it --user "$(id -u):$(id -g)" -v "$PWD:/out" paperless-ldap-gateway:local init --output /out/.env',
  ],
  options: {
    output: { type: 'string', value: 'FILE', description: 'where to write (default .env; - prints it instead)' },
    'public-url': { type: 'string', value: 'URL', description: 'the address people type, e.g. https://paperless.example.com' },
    preset: { type: 'string', value: 'NAME', description: `the directory's kind: ${PRESET_NAMES.join(', ')} (default openldap)` },
    'ldap-url': { type: 'string', value: 'URL', description: 'the directory, e.g. ldaps://dc1.example.com' },
    'bind-dn': { type: 'string', value: 'DN', description: "the gateway's service account in the directory" },
    'bind-password': { type: 'string', value: 'PASSWORD', description: "its password (asked without echo when left out; an option is seen by ps)" },
    'user-base': { type: 'string', value: 'DN', description: 'where people are, e.g. ou=people,dc=example,dc=com' },
  },
  positionals: { min: 0, max: 0 },
};

interface Question {
  option: keyof InitAnswers;
  flag: string;
  prompt: string;
  fallback?: string;
  silent?: boolean;
}

const QUESTIONS: Question[] = [
  { option: 'publicUrl', flag: 'public-url', prompt: 'Public URL, the address people type (https://paperless.example.com):' },
  { option: 'preset', flag: 'preset', prompt: `Directory kind (${PRESET_NAMES.join(', ')}):`, fallback: 'openldap' },
  { option: 'ldapUrl', flag: 'ldap-url', prompt: 'Directory URL (ldaps://dc1.example.com):' },
  { option: 'bindDn', flag: 'bind-dn', prompt: 'Service account DN (cn=gateway,ou=services,dc=example,dc=com):' },
  { option: 'bindPassword', flag: 'bind-password', prompt: 'Service account password:', silent: true },
  { option: 'userBase', flag: 'user-base', prompt: 'Where people are, the user base DN (ou=people,dc=example,dc=com):' },
];

/** Values compose sets itself; init checks the answers as the gateway will run with them. */
const COMPOSE_FIXED = { GATEWAY_UPSTREAM_URL: 'http://paperless:8000', GATEWAY_REDIS_URL: 'redis://redis:6379/0' };

export interface InitIo {
  interactive: boolean;
  ask(prompt: string, options: { silent: boolean; fallback?: string }): Promise<string>;
}

/** Questions on the terminal; prompts go to stderr so `--output -` keeps stdout for the file. */
export function terminalIo(): InitIo {
  return {
    interactive: process.stdin.isTTY === true,
    ask: async (prompt, { silent, fallback }) =>
      (await read({ prompt, silent, replace: silent ? '*' : '', output: process.stderr, ...(fallback ? { default: fallback } : {}) })).trim(),
  };
}

/** `init`: returns what to print on stdout. */
export async function initCommand(line: CommandLine, io: InitIo = terminalIo()): Promise<string> {
  const given = (flag: string) => {
    const v = line.values[flag];
    return typeof v === 'string' ? v.trim() : undefined;
  };
  const missing = QUESTIONS.filter((q) => !given(q.flag) && q.fallback === undefined);
  if (!io.interactive && missing.length > 0) {
    throw new CommandUsageError(`init: no terminal to ask on; give ${missing.map((q) => `--${q.flag}`).join(', ')}`);
  }
  const answers = {} as InitAnswers;
  for (const q of QUESTIONS) {
    let value = given(q.flag) ?? (io.interactive ? '' : (q.fallback ?? ''));
    while (value === '') {
      value = await io.ask(q.prompt, { silent: q.silent === true, ...(q.fallback ? { fallback: q.fallback } : {}) });
      if (value === '' && q.fallback) value = q.fallback;
    }
    answers[q.option] = value;
  }
  const text = renderEnvFile(answers);
  checkAnswers(text);
  const output = given('output') ?? '.env';
  if (output === '-') return text;
  try {
    // 'wx': never overwrite; 0600: the file holds the secrets.
    writeFileSync(output, text, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CommandUsageError(`init: ${output} exists; init never overwrites it (move it away, or edit it: README lists every setting)`);
    throw new CommandUsageError(`init: cannot write ${output}: ${(err as Error).message}`);
  }
  return `Wrote ${output}. Next: touch provisioning.yaml && docker compose up -d (README: "Docker Compose").\n`;
}

/** The answers must make a configuration the gateway accepts, or nothing is written. */
function checkAnswers(text: string): void {
  const env: Record<string, string> = { ...COMPOSE_FIXED };
  for (const l of text.split('\n')) {
    const m = /^(GATEWAY_[A-Z_]+)=(.*)$/.exec(l);
    if (m) env[m[1] as string] = readEnvValue(m[2] as string);
  }
  try {
    loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new CommandUsageError(`init: nothing written, the answers do not make a configuration the gateway accepts:\n${err.message}`);
  }
}
