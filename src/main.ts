#!/usr/bin/env node
// Only the command line's spec and parser load up front: `--help`, `help`, usage errors and
// `paperless-bootstrap-script` need nothing else, and each runner below imports what its command
// uses when it runs (the libraries behind `serve` alone take a second or more to load).
import { commandHelp, overviewHelp, parseCommandLine, type CommandLine, type CommandSpec } from './cli/command-line.js';
import { COMMANDS } from './cli/commands.js';
import { CommandUsageError } from './cli/usage-error.js';
import type { Config } from './config/config.js';
import type { Logger } from 'pino';
import type { RedisClient } from './redis/client.js';

/** Writes to stdout and waits until it is flushed: a pipe takes large output asynchronously, and the process may exit next. */
function print(text: string): Promise<void> {
  return new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
}

async function readConfig(): Promise<Config> {
  const [{ loadConfig }, { ConfigError }] = await Promise.all([import('./config/load.js'), import('./config/errors.js')]);
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`paperless-ldap-gateway: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function serve(): Promise<void> {
  const [{ default: cluster }, { capYoungGeneration }, { EarlyPagesThread, pagesThreadData, servesAlone }, { trimWhenIdle }] = await Promise.all([
    import('node:cluster'),
    import('./ops/young-generation.js'),
    import('./server/pages-start.js'),
    import('./ops/idle-trim.js'),
  ]);
  // Before any socket is read (see capYoungGeneration: large transfers' memory on Node 22+), and
  // before the pages thread starts, which sizes its young generation by it.
  const youngGeneration = capYoungGeneration();
  // The pages thread first, so its modules load on another core while this thread loads the
  // settings and the gateway; the gateway adopts it (server/pages-start.ts). Settings it cannot
  // read end the process below before the thread is heard.
  const environment = process.env;
  const pagesThread = servesAlone(cluster.isWorker, environment) ? new EarlyPagesThread(pagesThreadData(environment, process.stdout.isTTY === true)) : undefined;
  const [config, { createLogger }] = await Promise.all([readConfig(), import('./ops/logger.js')]);
  const log = createLogger(config.log.level);
  // The last resort: every entry point catches its own errors, and one that slips through is a
  // bug to log, not a reason to drop every other user's requests and websockets.
  process.on('unhandledRejection', (reason) => log.error({ err: reason instanceof Error ? reason.stack : String(reason) }, 'BUG: unhandled rejection; the gateway keeps serving'));
  process.on('uncaughtException', (err) => log.error({ err: err.stack ?? err.message }, 'BUG: uncaught exception; the gateway keeps serving'));
  if (config.server.workers > 1 && cluster.isPrimary) {
    const [{ runWorkers }, { startupWarnings }] = await Promise.all([import('./ops/cluster.js'), import('./server/startup-warnings.js')]);
    startupWarnings(config, log);
    runWorkers(config.server.workers, log);
    return;
  }
  const { serveGateway } = await import('./app.js');
  // The signals are heard before the gateway is up: one that comes while it starts (an
  // orchestrator that changed its mind) stops it cleanly once started, instead of killing the
  // process halfway with no shutdown at all.
  const started = serveGateway(config, log, { environment, ...(pagesThread ? { pagesThread } : {}) }, { youngGeneration });
  let stopTrim = () => {};
  let stopping = false;
  const stop = (signal: string) => {
    // A second signal does not wait for a slow start or shutdown (Ctrl-C twice).
    if (stopping) {
      log.warn({ signal }, 'stopping now, without waiting for the shutdown to finish');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    started.then(
      (gateway) => {
        stopTrim();
        gateway.close().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'error during shutdown');
            process.exit(1);
          },
        );
      },
      // The start itself failed: main's own handler says so and ends the process.
      () => undefined,
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await started;
  // The process's own: an in-process gateway (the tests) leaves its host's memory alone.
  if (!stopping) stopTrim = trimWhenIdle(log);
}

async function checkConfig(): Promise<void> {
  const [{ createLogger }, { createRedis, waitReady }, { runChecks, formatChecks }, { LdapDirectory }, { PaperlessApi }] = await Promise.all([
    import('./ops/logger.js'),
    import('./redis/client.js'),
    import('./cli/check-config.js'),
    import('./directory/ldap-directory.js'),
    import('./paperless/api.js'),
  ]);
  const config = await readConfig();
  const log = createLogger('silent', 2);
  const redis = createRedis(config.redis.url, log, 'check-config');
  try {
    await waitReady(redis, 3000).catch(() => undefined);
    const results = await runChecks({
      config,
      redis,
      directory: new LdapDirectory(config.ldap),
      ...(config.provisioning.enabled ? { api: new PaperlessApi(config.provisioning) } : {}),
    });
    await print(formatChecks(results));
    if (results.some((r) => r.status === 'fail')) process.exitCode = 1;
  } finally {
    redis.disconnect();
  }
}

async function sync(line: CommandLine): Promise<void> {
  const [{ createLogger }, { createRedis, pingRedis, waitReady }, { redisKeys }, { LdapDirectory }, { PaperlessApi }, { Provisioner }, { appliedSummary, planJson, planSummary, planTable }, { applySync, planSync }, { UserSessionIndex }] = await Promise.all([
    import('./ops/logger.js'),
    import('./redis/client.js'),
    import('./redis/keys.js'),
    import('./directory/ldap-directory.js'),
    import('./paperless/api.js'),
    import('./provisioning/provisioner.js'),
    import('./provisioning/sync-report.js'),
    import('./provisioning/sync.js'),
    import('./session/user-index.js'),
  ]);
  const config = await readConfig();
  if (!config.provisioning.enabled) {
    process.stderr.write('paperless-ldap-gateway: sync needs provisioning (GATEWAY_PROVISIONING=on and GATEWAY_PAPERLESS_TOKEN)\n');
    process.exit(2);
  }
  const json = line.values.json === true;
  const dryRun = line.values['dry-run'] === true;
  const deprovision = line.values.deprovision === true;
  // Logs go to stderr: stdout holds the plan (and must stay valid JSON with --json).
  const log = createLogger(config.log.level === 'info' ? 'warn' : config.log.level, 2);
  const redis = createRedis(config.redis.url, log, 'sync');
  try {
    // Not ready in time: pingRedis says why in words (and never prints the URL's password).
    await waitReady(redis, 5000).catch(() => pingRedis(redis, config.redis.url));
    const directory = new LdapDirectory(config.ldap);
    const keys = redisKeys(config.redis.keyPrefix);
    const provisioner = new Provisioner(new PaperlessApi(config.provisioning), redis, keys, config.provisioning.mapping, log, { adoptLocalUsers: config.provisioning.adoptLocalUsers });
    const progress = process.stderr.isTTY && !json ? (done: number, total: number, phase: string) => process.stderr.write(`\r${phase}: ${done}${total ? `/${total}` : ''}   `) : undefined;
    const options = { deprovision, maxDeprovisionShare: config.provisioning.syncDeprovisionMaxShare, ...(progress ? { onProgress: progress } : {}) };
    const plan = await planSync(directory, config.ldap.allowedGroups, provisioner, options);
    if (progress) process.stderr.write('\n');
    const summary = dryRun
      ? undefined
      : await applySync(plan, provisioner, (username) => new UserSessionIndex(redis, keys).revokeAll(username).then((s) => s.length), options);
    if (progress && summary) process.stderr.write('\n');
    const output = json
      ? `${JSON.stringify({ dryRun, deprovision, plan: planJson(plan), ...(summary ? { applied: summary } : {}) }, null, 2)}\n`
      : `${planTable(plan)}${planSummary(plan)}\n${summary ? appliedSummary(summary) : 'Dry run: nothing was changed.'}\n`;
    await print(output);
    // A plan the guard stopped is no success, dry run or not: scripts must see it.
    if (plan.halt) process.exitCode = 1;
  } finally {
    redis.disconnect();
  }
}

/** A command that needs only the settings and Redis, and prints what it found or did. */
async function withRedis(name: string, args: string[], run: (args: string[], config: Config, redis: RedisClient, log: Logger) => Promise<string>): Promise<void> {
  const [{ createLogger }, { createRedis, pingRedis, waitReady }] = await Promise.all([import('./ops/logger.js'), import('./redis/client.js')]);
  const config = await readConfig();
  const log = createLogger(config.log.level === 'info' ? 'warn' : config.log.level, 2);
  const redis = createRedis(config.redis.url, log, name);
  try {
    // Not ready in time: pingRedis says why in words (and never prints the URL's password).
    await waitReady(redis, 5000).catch(() => pingRedis(redis, config.redis.url));
    const output = await run(args, config, redis, log);
    await print(output);
  } finally {
    redis.disconnect();
  }
}

const runners: Record<string, (line: CommandLine) => Promise<void>> = {
  serve,
  'check-config': checkConfig,
  sync,
  mfa: async (line) => withRedis('mfa', line.positionals, (await import('./cli/mfa-command.js')).mfaCommand),
  sessions: async (line) => withRedis('sessions', line.positionals, (await import('./cli/sessions-command.js')).sessionsCommand),
  init: async (line) => {
    const { initCommand } = await import('./cli/init.js');
    await print(await initCommand(line));
  },
  // Needs no settings: it runs where Paperless is, which may have no gateway .env.
  'paperless-bootstrap-script': async () => print((await import('./cli/bootstrap-script.js')).PAPERLESS_BOOTSTRAP_SCRIPT),
  help: async (line) => {
    const topic = line.positionals[0];
    const spec = topic === undefined ? undefined : specOf(topic);
    await print(spec ? commandHelp(spec) : overviewHelp(COMMANDS));
  },
};

function specOf(name: string): CommandSpec {
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) throw new CommandUsageError(`unknown command "${name}"\nusage: paperless-ldap-gateway [COMMAND] [OPTIONS]   (paperless-ldap-gateway --help lists the commands)`);
  return spec;
}

/** One parser for every command: unknown options are refused, --help works everywhere. */
async function start(argv: string[]): Promise<string> {
  // A first word that is an option belongs to serve, the default (`--help` lists the commands).
  const [first] = argv;
  const named = first !== undefined && !first.startsWith('-');
  const words = named ? argv.slice(1) : argv;
  if (!named && (words.includes('--help') || words.includes('-h'))) {
    await print(overviewHelp(COMMANDS));
    return 'help';
  }
  const spec = specOf(named ? first : 'serve');
  const line = parseCommandLine(spec, words);
  if (line === 'help') {
    await print(commandHelp(spec));
    return 'help';
  }
  await (runners[spec.name] as (line: CommandLine) => Promise<void>)(line);
  return spec.name;
}

start(process.argv.slice(2)).then(
  (ran) => {
    // Short-lived commands end here; serve keeps its own handles open.
    if (ran !== 'serve') process.exit(process.exitCode ?? 0);
  },
  (err: unknown) => {
    const usage = err instanceof CommandUsageError;
    process.stderr.write(`paperless-ldap-gateway: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(usage ? 2 : 1);
  },
);
