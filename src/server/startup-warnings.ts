import type { Logger } from 'pino';
import type { Config } from '../config/config.js';

/**
 * What the admin must hear at every start, whatever else the log says. A module of its own: a
 * cluster's primary says it for its workers and must not load the whole gateway to do so.
 */
export function startupWarnings(config: Config, log: Logger): void {
  if (config.ldap.tls.skipVerify) {
    log.warn(
      { setting: 'GATEWAY_LDAP_TLS_SKIP_VERIFY' },
      'LDAP TLS CERTIFICATES ARE NOT VERIFIED: anyone between the gateway and the directory can read every password. Set GATEWAY_LDAP_CA_FILE instead.',
    );
  }
}
