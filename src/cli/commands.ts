import type { CommandSpec } from './command-line.js';
import { INIT } from './init.js';

/** Every command's command line, in the order `--help` lists them. */
export const COMMANDS: CommandSpec[] = [
  { name: 'serve', summary: 'run the gateway (the default); settings come from GATEWAY_* variables', synopsis: '', options: {}, positionals: { min: 0, max: 0 } },
  {
    name: 'check-config',
    summary: 'try every dependency (Redis, directory, Paperless) and print a checklist with fixes',
    synopsis: '',
    options: {},
    positionals: { min: 0, max: 0 },
  },
  {
    name: 'sync',
    summary: 'provision every directory user into Paperless now',
    synopsis: '[--dry-run] [--deprovision] [--json]',
    options: {
      'dry-run': { type: 'boolean', description: 'print the plan, change nothing' },
      deprovision: { type: 'boolean', description: 'also deactivate Paperless users who left the directory' },
      json: { type: 'boolean', description: 'print the plan and the result as JSON' },
    },
    positionals: { min: 0, max: 0 },
  },
  {
    name: 'mfa',
    summary: 'second factors: an enrolment link (issue), a reset, or the list of who has one',
    synopsis: 'issue USER | reset USER | list',
    details: [
      'mfa issue USER   print a one-time link with which USER sets up an authenticator app',
      'mfa reset USER   forget USER\'s second factors and remembered devices',
      'mfa list         everyone with a second factor: app, passkeys, recovery codes left, app passwords',
    ],
    options: {},
    positionals: { min: 1, max: 2 },
  },
  {
    name: 'sessions',
    summary: 'signed-in sessions: list them, or sign a user out everywhere',
    synopsis: 'list [USER] | revoke USER',
    details: [
      'sessions list [USER]   every signed-in session (of USER): address, browser, sign-in, last seen',
      'sessions revoke USER   sign USER out everywhere (websockets close on every replica)',
    ],
    options: {},
    positionals: { min: 1, max: 2 },
  },
  INIT,
  {
    name: 'paperless-bootstrap-script',
    summary: "print the Python that gives the gateway its Paperless superuser with GATEWAY_PAPERLESS_TOKEN (compose runs it itself)",
    synopsis: '',
    details: [
      'Without Docker, run it in Paperless\'s src folder as Paperless\'s user:',
      '  GATEWAY_PAPERLESS_TOKEN=... python3 manage.py shell -c "$(paperless-ldap-gateway paperless-bootstrap-script)"',
      'It creates or checks gateway+service with exactly that token; running it again changes nothing.',
    ],
    options: {},
    positionals: { min: 0, max: 0 },
  },
  { name: 'help', summary: 'print this text, or one command\'s options (help COMMAND; also --help, -h)', synopsis: '[COMMAND]', options: {}, positionals: { min: 0, max: 1 } },
];
