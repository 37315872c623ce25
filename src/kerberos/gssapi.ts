import { createRequire } from 'node:module';
import { GatewayError } from '../errors.js';

/** What the gateway uses of the optional `kerberos` package (GSSAPI's acceptor side). */
export interface GssServerContext {
  step(token: string): Promise<string>;
  /** The client's principal, `user@REALM`, once the context is complete. */
  username: string;
  /** The acceptor's answer token (mutual authentication), base64. */
  response: string;
  contextComplete: boolean;
}

export interface Gssapi {
  initializeServer(service: string): Promise<GssServerContext>;
}

export class KerberosModuleMissingError extends GatewayError {
  readonly status = 503;
  constructor(cause: unknown) {
    super(
      `GATEWAY_KERBEROS is on, but the kerberos module could not be loaded (${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}): install libkrb5-dev and a C++ compiler, then run npm ci again, or use the image, which has it (README, Kerberos)`,
      'Signing in with Kerberos is not available on this gateway. Sign in with your password.',
      { cause },
    );
  }
}

/**
 * The `kerberos` package (GSSAPI through N-API), loaded only when GATEWAY_KERBEROS is on: it is an
 * optional dependency with a native part built at install, and an install without Kerberos's
 * development files (libkrb5-dev) has none. Throws KerberosModuleMissingError, in words.
 */
export function loadGssapi(): Gssapi {
  const require = createRequire(import.meta.url);
  try {
    return require('kerberos') as Gssapi;
  } catch (err) {
    throw new KerberosModuleMissingError(err);
  }
}
