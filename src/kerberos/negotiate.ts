import { GatewayError } from '../errors.js';
import { createHash } from 'node:crypto';
import { authenticatorOf } from './authenticator.js';
import type { Gssapi, GssServerContext } from './gssapi.js';
import { gssServiceName } from './service-name.js';

/** What a request's Authorization header says about Negotiate. */
export type NegotiateHeader = { kind: 'none' } | { kind: 'ntlm' } | { kind: 'token'; token: string };

/** A Kerberos ticket of an Active Directory user in many groups runs to about 12 KB; nothing needs more. */
const MAX_TOKEN_CHARS = 48 * 1024;

/** The request headers the gateway's listeners take while Kerberos is on: the largest token and the rest. */
export const KERBEROS_HEADER_BYTES = MAX_TOKEN_CHARS + 16 * 1024;

/** NTLMSSP's signature, base64: what Windows sends inside Negotiate when it has no Kerberos ticket. */
const NTLM_PREFIX = 'TlRMTVNTUA';

export class MalformedNegotiateError extends GatewayError {
  readonly status = 400;
  constructor(reason: string) {
    super(`Negotiate token refused: ${reason}`, 'Your browser sent a Kerberos sign-in the gateway cannot read. Sign in with your password instead.');
  }
}

/** A token that is well formed but not accepted: for another service or realm, expired, replayed, or not Kerberos. */
export class NegotiateRefusedError extends GatewayError {
  readonly status = 401;
  constructor(reason: string) {
    super(`Kerberos ticket refused: ${reason}`, 'The Kerberos sign-in of your computer was not accepted. Sign in with your password instead.');
  }
}

/** Too many Kerberos sign-ins at once: each takes one of GSSAPI's few worker threads. */
export class NegotiateBusyError extends GatewayError {
  readonly status = 503;
  constructor(limit: number) {
    super(`more than ${limit} Kerberos sign-ins at once`, 'Too many sign-ins at once. Try again in a moment.');
  }
}

/**
 * Reads `Authorization: Negotiate <base64>` (RFC 4559); any other scheme is `none`. The scheme is
 * matched without regard to case, as HTTP's are. An NTLM message inside Negotiate (a Windows
 * client without a ticket) is told apart: it gets the form, not an error.
 */
export function negotiateHeader(authorization: string | undefined): NegotiateHeader {
  if (authorization === undefined) return { kind: 'none' };
  const m = /^Negotiate(?:[ \t]+(.*))?$/i.exec(authorization.trim());
  if (!m) return { kind: 'none' };
  const token = (m[1] ?? '').trim();
  if (token === '') throw new MalformedNegotiateError('no token after Negotiate');
  if (token.length > MAX_TOKEN_CHARS) throw new MalformedNegotiateError(`token of ${token.length} characters`);
  // Canonical base64 only: the decoder ignores a last character's unused bits, and every
  // spelling of the same bytes would otherwise be another token to the replay check.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token) || Buffer.from(token, 'base64').toString('base64') !== token) throw new MalformedNegotiateError('token is not base64');
  if (token.startsWith(NTLM_PREFIX)) return { kind: 'ntlm' };
  // A SPNEGO (or Kerberos) initial token is an ASN.1 [APPLICATION 0], byte 0x60: base64 "Y". Anything
  // else is refused here, before it costs GSSAPI a thread.
  if (!token.startsWith('Y')) throw new MalformedNegotiateError('not a SPNEGO or Kerberos token');
  return { kind: 'token', token };
}

export interface AcceptedTicket {
  /** The client's principal, `user@REALM`. */
  principal: string;
  /** The answer for the client (mutual authentication), sent back in `WWW-Authenticate: Negotiate`. */
  response?: string;
}

/**
 * The acceptor: one GSSAPI context per token (SPNEGO with Kerberos completes in one round trip).
 * GSSAPI's work runs on libuv's thread pool (four threads), which file, DNS and crypto work of
 * both threads share: at most `maxConcurrent` at once per thread (two threads have one each), the
 * rest refused at once rather than queued. `firstAccepted` records an accepted token where every replica sees it (each keeps only
 * its own replay cache): false for a token another replica accepted already.
 */
export class Negotiator {
  private readonly service: string;
  private running = 0;

  constructor(
    private readonly gssapi: Gssapi,
    servicePrincipal: string,
    private readonly firstAccepted: (tokenHash: string) => Promise<boolean> = async () => true,
    private readonly maxConcurrent = 1,
  ) {
    this.service = gssServiceName(servicePrincipal);
  }

  async accept(token: string): Promise<AcceptedTicket> {
    if (this.running >= this.maxConcurrent) throw new NegotiateBusyError(this.maxConcurrent);
    this.running += 1;
    let ticket: AcceptedTicket;
    try {
      ticket = await this.acceptOnce(token);
    } finally {
      this.running -= 1;
    }
    // The authenticator, however wrapped; the token's bytes when its structure is another.
    const bytes = Buffer.from(token, 'base64');
    if (!(await this.firstAccepted(createHash('sha256').update(authenticatorOf(bytes) ?? bytes).digest('hex')))) throw new NegotiateRefusedError('a replay: another replica accepted this token already');
    return ticket;
  }

  private async acceptOnce(token: string): Promise<AcceptedTicket> {
    let context: GssServerContext;
    try {
      context = await this.gssapi.initializeServer(this.service);
    } catch (err) {
      // The keytab went missing or lost the principal after start: no one signs in by ticket, and
      // everyone gets the form (never a 500, or domain PCs could reach no sign-in at all).
      throw new NegotiateRefusedError(`the keytab cannot accept for ${this.service}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      await context.step(token);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      // GSSAPI's words for bytes that are no token at all.
      if (/malformed|defective|invalid token/i.test(reason)) throw new MalformedNegotiateError(reason);
      throw new NegotiateRefusedError(reason);
    }
    if (!context.contextComplete || !context.username) throw new NegotiateRefusedError('the exchange needs more than one round trip (not Kerberos)');
    return { principal: context.username, ...(context.response ? { response: context.response } : {}) };
  }

  /** Whether the keytab holds a key for the service: GSSAPI acquires the acceptor's credentials (check-config). */
  async check(): Promise<void> {
    await this.gssapi.initializeServer(this.service);
  }
}
