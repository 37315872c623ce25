/**
 * The command line: one parser for every command, `--help` everywhere, unknown options and
 * stray words refused with exit 2 (the compiled binary, as the image and `npm exec` run it).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS } from '../src/cli/commands.js';
import { COMPILED_LAUNCH, runCliToEnd } from './support/gateway.js';


// No settings at all: help and usage errors must not need any.
const run = (args: string[]) => runCliToEnd(args, {}, COMPILED_LAUNCH);

describe('the command line', () => {
  it('--help, -h and help list every command', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const res = await run(args);
      assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
      for (const c of COMMANDS) assert.match(res.stdout, new RegExp(`^  ${c.name} `, 'm'), `${args.join(' ')} lists ${c.name}`);
    }
  });

  for (const spec of COMMANDS) {
    it(`${spec.name}: --help prints its usage and options; an unknown option is exit 2 naming it`, async () => {
      const help = await run([spec.name, '--help']);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^usage: paperless-ldap-gateway ${spec.name}`));
      for (const option of Object.keys(spec.options)) assert.match(help.stdout, new RegExp(`--${option}\\b`));
      assert.equal((await run(['help', spec.name])).stdout, help.stdout, 'help COMMAND says the same');
      const bogus = await run([spec.name, '--bogus']);
      assert.equal(bogus.code, 2);
      assert.match(bogus.stderr, new RegExp(`${spec.name}: unknown option --bogus\\nusage: paperless-ldap-gateway ${spec.name}`));
      assert.equal(bogus.stdout, '');
    });
  }

  it('a stray word, a missing value and an unknown command are exit 2 with the reason', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['sync', 'now'], /sync: unexpected argument "now"/],
      [['check-config', 'extra'], /check-config: unexpected argument "extra"/],
      [['init', '--output'], /init: option --output needs a value/],
      [['sync', '--json=yes'], /sync: option --json takes no value/],
      [['mfa'], /mfa: missing argument/],
      [['serve-it'], /unknown command "serve-it"/],
      [['--bogus'], /serve: unknown option --bogus/],
    ];
    for (const [args, pattern] of cases) {
      const res = await run(args);
      assert.equal(res.code, 2, args.join(' '));
      assert.match(res.stderr, pattern);
    }
  });
});
