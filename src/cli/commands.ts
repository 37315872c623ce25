import { PRESET_NAMES } from '../config/directory-presets.js';
import type { CommandSpec } from './command-line.js';

/*
 * Every spec is written here rather than beside its command: main.ts loads this file for `--help`
 * and for every usage error, so it must not pull in a command's modules (init alone brings the
 * settings' schema, ldapts and the prompt library).
 */

const INIT: CommandSpec = {
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
    'It makes the folders consume and export (0750; run as root, handed to USERMAP_UID) and, with',
    '--certificate files, https (0700) for Caddy\'s certificate and key. Run as root, it refuses a folder others may write.',
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
