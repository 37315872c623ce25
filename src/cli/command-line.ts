import { parseArgs } from 'node:util';
import { CommandUsageError } from './usage-error.js';

/** One command's command line: what `--help` prints and what the parser accepts. */
export interface CommandSpec {
  name: string;
  /** One line for the overview. */
  summary: string;
  /** What follows the command name, e.g. `[--dry-run] [--json]`. */
  synopsis: string;
  /** Lines printed under the synopsis by `COMMAND --help`. */
  details?: string[];
  options: Record<string, OptionSpec>;
  /** How many words may follow the command (after the options are taken out). */
  positionals: { min: number; max: number };
}

export interface OptionSpec {
  type: 'boolean' | 'string';
  /** What it does, for --help; a string option names its value in `value`. */
  description: string;
  value?: string;
}

export interface CommandLine {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** The words after the command, checked against its spec; `help` when it was asked for. */
export function parseCommandLine(spec: CommandSpec, args: string[]): CommandLine | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...HELP_OPTION, ...Object.fromEntries(Object.entries(spec.options).map(([name, o]) => [name, { type: o.type }])) },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new CommandUsageError(`${describeParseError(err, spec)}\n${usageLine(spec)}`);
  }
  if (parsed.values.help === true) return 'help';
  const { positionals } = parsed;
  if (positionals.length < spec.positionals.min || positionals.length > spec.positionals.max) {
    const extra = positionals.length > spec.positionals.max ? `unexpected argument "${positionals[spec.positionals.max]}"` : 'missing argument';
    throw new CommandUsageError(`${spec.name}: ${extra}\n${usageLine(spec)}`);
  }
  const values = Object.fromEntries(Object.entries(parsed.values).filter(([k]) => k !== 'help')) as CommandLine['values'];
  return { values, positionals };
}

/** parseArgs' messages explain its own syntax; these name the command and the option instead. */
function describeParseError(err: unknown, spec: CommandSpec): string {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  const option = /'(-{1,2}[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `${spec.name}: unknown option ${option ?? message}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const takesValue = option !== undefined && spec.options[option.replace(/^-+/, '')]?.type === 'string';
    return `${spec.name}: option ${option ?? ''} ${takesValue ? 'needs a value' : 'takes no value'}`;
  }
  return `${spec.name}: ${message}`;
}

export function usageLine(spec: CommandSpec): string {
  return `usage: paperless-ldap-gateway ${spec.name}${spec.synopsis ? ` ${spec.synopsis}` : ''}`;
}

/** `COMMAND --help`. */
export function commandHelp(spec: CommandSpec): string {
  const options = Object.entries(spec.options).map(([name, o]) => {
    const flag = `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    return `  ${flag.padEnd(26)} ${o.description}`;
  });
  return [
    usageLine(spec),
    '',
    spec.summary,
    ...(spec.details ? ['', ...spec.details] : []),
    '',
    'options:',
    ...options,
    `  ${'--help, -h'.padEnd(26)} print this text`,
    '',
  ].join('\n');
}

/** `--help` with no command: every command's synopsis and summary. */
export function overviewHelp(specs: CommandSpec[]): string {
  return [
    'usage: paperless-ldap-gateway [COMMAND] [OPTIONS]   (the command is serve when none is given)',
    '',
    'commands:',
    ...specs.map((s) => `  ${s.name.padEnd(14)} ${s.summary}`),
    '',
    'paperless-ldap-gateway COMMAND --help prints the options of one command.',
    "Settings come from GATEWAY_* variables; README.md lists every one with its default.",
    '',
  ].join('\n');
}
