import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError, type Control } from 'ldapts';
import type { LdapConfig } from '../config/config.js';
import { certificateError } from './certificate-errors.js';
import { DirectorySettingError, DirectoryUnavailableError } from './errors.js';

/** A connection-level failure (refused, reset, timed out, TLS) rather than an answer from the server. */
export function isConnectionFailure(err: unknown): boolean {
  return !(err instanceof ResultCodeError);
}

/**
 * Opens bound connections: servers tried in order (failover), TLS as
 * configured, timeouts always set. A fresh client per use: nothing stays open.
 */
export class LdapConnector {
  private readonly tlsOptions: ConnectionOptions;

  constructor(private readonly config: LdapConfig) {
    const { tls } = config;
    this.tlsOptions = {
      minVersion: tls.minVersion,
      rejectUnauthorized: !tls.skipVerify,
      ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
      ...(tls.serverName ? { servername: tls.serverName } : {}),
    };
  }

  private newClient(url: string): Client {
    return new Client({
      url,
      timeout: this.config.timeoutMs,
      connectTimeout: this.config.connectTimeoutMs,
      // ldapts switches any URL to TLS when it is given TLS options, so give them to ldaps:// only;
      // StartTLS gets its own copy below (ldapts writes the socket into the object it is given).
      ...(url.toLowerCase().startsWith('ldaps://') ? { tlsOptions: { ...this.tlsOptions } } : {}),
    });
  }

  /**
   * Binds on the first server that answers. An LDAP answer (wrong password,
   * refused) is final and rethrown as is; only connection failures move on.
   */
  async bind(dn: string, password: string, control?: Control): Promise<Client> {
    let lastError: unknown;
    let certificate: DirectorySettingError | undefined;
    for (const url of this.config.urls) {
      const client = this.newClient(url);
      try {
        if (this.config.startTls) await client.startTLS({ ...this.tlsOptions });
        await client.bind(dn, password, control);
        return client;
      } catch (err) {
        await client.unbind().catch(() => undefined);
        if (!isConnectionFailure(err)) throw err;
        lastError = err;
        certificate ??= certificateError(err, url, this.config.tls.caFile);
      }
    }
    // A server that answered with a certificate we cannot trust did answer: say what to set.
    if (certificate) throw certificate;
    throw new DirectoryUnavailableError(`no LDAP server answered (${this.config.urls.join(', ')}): ${String(lastError)}`, { cause: lastError });
  }
}
