import { MalformedNegotiateError, NegotiateBusyError, NegotiateRefusedError } from './errors.js';
import { createHash } from 'node:crypto';
import { authenticatorOf } from './authenticator.js';
import type { Gssapi, GssServerContext } from './gssapi.js';
import { gssServiceName } from './service-name.js';
import { AcceptorSlots } from './acceptor-slots.js';
import { signInNameOf } from './principal.js';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Tokens one person's tickets may bring in a minute, per thread. Each accepted one is written to
 * Redis for twice the clock skew, and at the sign-in page makes a session: a domain user (or another
 * site's frames looping a browser through the sign-in page) would otherwise have no bound. Scripts
 * that call the API more often use a Paperless token.
 */
const TOKENS_PER_PERSON_PER_MINUTE = 300;

/** What a request's Authorization header says about Negotiate. */
export type NegotiateHeader = { kind: 'none' } | { kind: 'ntlm' } | { kind: 'token'; token: string };

/** A Kerberos ticket of an Active Directory user in many groups runs to about 12 KB; nothing needs more. */
const MAX_TOKEN_CHARS = 48 * 1024;

/** The request headers the gateway's listeners take while Kerberos is on: the largest token and the rest. */
export const KERBEROS_HEADER_BYTES = MAX_TOKEN_CHARS + 16 * 1024;

/** NTLMSSP's signature, base64: what Windows sends inside Negotiate when it has no Kerberos ticket. */
const NTLM_PREFIX = 'TlRMTVNTUA';

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
  /** The name it signs in as (principal.ts): the realm checked, the name one a directory compares as written. */
  username: string;
  /** The principal's realm, one of the allowed. */
  realm: string;
  /** The answer for the client (mutual authentication), sent back in `WWW-Authenticate: Negotiate`. */
  response?: string;
}

/**
 * The acceptor: one GSSAPI context per token (SPNEGO with Kerberos completes in one round trip).
 * GSSAPI's work runs on libuv's thread pool (four threads), which file, DNS and crypto work of
 * both threads share: `maxRunning` at once per thread (two threads have one each), the rest wait
 * their turn, a client address a small share of the turns (acceptor-slots.ts). `firstAccepted`
 * records an accepted token where every replica sees it (each keeps only its own replay cache):
 * false for a token another replica accepted already. Only a principal of the allowed realm is
 * recorded, so nobody outside it can fill that record.
 */
export class Negotiator {
  private readonly service: string;
  private readonly slots: AcceptorSlots;
  private readonly perPerson = new RateLimiterMemory({ points: TOKENS_PER_PERSON_PER_MINUTE, duration: 60 });

  constructor(
    private readonly gssapi: Gssapi,
    servicePrincipal: string,
    private readonly realms: readonly string[],
    private readonly firstAccepted: (tokenHash: string) => Promise<boolean> = async () => true,
    maxRunning = 1,
  ) {
    this.service = gssServiceName(servicePrincipal);
    this.slots = new AcceptorSlots(maxRunning);
  }

  async accept(token: string, ip: string): Promise<AcceptedTicket> {
    // The authenticator identifies a token however it is wrapped or spelled (authenticator.ts):
    // one without a findable authenticator could be replayed past the shared record, so it is refused.
    const bytes = Buffer.from(token, 'base64');
    const authenticator = authenticatorOf(bytes);
    if (!authenticator) throw new MalformedNegotiateError('not a Kerberos AP-REQ the gateway can read (SPNEGO without a Kerberos token, or another mechanism)');
    const turn = this.slots.take(ip);
    if (!turn) throw new NegotiateBusyError();
    const release = await turn;
    let ticket: { principal: string; response?: string };
    try {
      // GSSAPI is given the very bytes the walk read, spelled once more (its own base64 decoder reads some strings otherwise).
      ticket = await this.acceptOnce(bytes.toString('base64'));
    } finally {
      release();
    }
    const username = signInNameOf(ticket.principal, this.realms);
    // Looked at before the record is written (the budget bounds the records), spent after: a
    // replay another replica refused costs the person nothing. Any case, one person (AD's).
    const person = ticket.principal.toLowerCase();
    if (((await this.perPerson.get(person))?.consumedPoints ?? 0) >= TOKENS_PER_PERSON_PER_MINUTE) throw new NegotiateBusyError(`more than ${TOKENS_PER_PERSON_PER_MINUTE} Kerberos tokens of ${ticket.principal} in a minute`);
    if (!(await this.firstAccepted(createHash('sha256').update(authenticator).digest('hex')))) throw new NegotiateRefusedError('a replay: another replica accepted this token already');
    await this.perPerson.consume(person).catch((err: unknown) => {
      if (!(err instanceof RateLimiterRes)) throw err;
    });
    return { ...ticket, username, realm: ticket.principal.slice(ticket.principal.lastIndexOf('@') + 1) };
  }

  private async acceptOnce(token: string): Promise<{ principal: string; response?: string }> {
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
