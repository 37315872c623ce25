#!/usr/bin/env node
import { createGateway } from './app.js';
import { loadConfig } from './config/load.js';
import { ConfigError } from './config/errors.js';
import { LdapDirectory } from './directory/ldap-directory.js';
import { createLogger } from './ops/logger.js';
import type { Config } from './config/config.js';

const USAGE = 'usage: paperless-ldap-gateway [serve|check-config]';

function readConfig(): Config {
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
  const config = readConfig();
  const log = createLogger(config.log.level);
  if (config.ldap.tls.skipVerify) {
    log.warn(
      { setting: 'GATEWAY_LDAP_TLS_SKIP_VERIFY' },
      'LDAP TLS CERTIFICATES ARE NOT VERIFIED: anyone between the gateway and the directory can read every password. Set GATEWAY_LDAP_CA_FILE instead.',
    );
  }
  const directory = new LdapDirectory(config.ldap);
  // A directory that is down at startup is logged, not fatal: logins say so until it answers.
  directory.check().then(
    () => log.info('directory reachable, service account accepted'),
    (err: Error) => log.error({ err: err.message }, 'directory check failed at startup'),
  );
  const gateway = createGateway(config, directory, log);
  await gateway.listen();
  log.info({ host: config.server.host, port: config.server.port, upstream: config.upstream.url.origin, publicUrl: config.server.publicUrl.origin }, 'gateway listening');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function checkConfig(): Promise<void> {
  readConfig();
  process.stdout.write('configuration is valid\n');
}

const command = process.argv[2] ?? 'serve';
const commands: Record<string, () => Promise<void>> = { serve, 'check-config': checkConfig };
const run = commands[command];
if (!run) {
  process.stderr.write(`paperless-ldap-gateway: unknown command "${command}"\n${USAGE}\n`);
  process.exit(2);
}
run().catch((err: unknown) => {
  process.stderr.write(`paperless-ldap-gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
