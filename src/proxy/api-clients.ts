import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { DirectoryUser } from '../directory/directory.js';
import { InvalidCredentialsError } from '../directory/errors.js';
import { refusedSignIn } from '../auth/refused-sign-in.js';
import type { CredentialCache } from './credential-cache.js';
import { hasBody, type Decision, type Exchange, type Step } from './exchange.js';
import type { TokenOwner, TokenOwners } from './token-owners.js';
import type { DirectoryRecheck } from '../session/recheck.js';
import { isApiPath } from '../url-path.js';
import { SAFE_METHODS, sourceOrigin } from './request-origin.js';
import { AddressShares } from '../address-shares.js';
import { GatewayError } from '../errors.js';
import { negotiateHeader } from '../kerberos/negotiate.js';

export interface ApiClientDeps {
  verify: (username: string, password: string, ip: string) => Promise<DirectoryUser>;
  /** Undefined when GATEWAY_API_BASIC_AUTH is off. */
  basicCache?: CredentialCache<string>;
  /** Asks Paperless whether a token is valid (true/false); throws when Paperless cannot say. */
  tokenValid: (key: string) => Promise<boolean>;
  /** Tokens Paperless recently accepted. */
  tokenCache: CredentialCache<true>;
  /** Whose each token is (recorded at app sign-in, else asked of Paperless). */
  tokenOwners: Pick<TokenOwners, 'ownerOf'>;
  /**
   * Each token's person, or null for a token of an account the gateway does not manage,
   * remembered for one re-check interval: a token's every request costs no Redis or Paperless
   * call inside the interval.
   */
  tokenPeople: CredentialCache<{ username: string | null }>;
  /** Whether this Paperless user is a directory person the gateway manages (not a local account). */
  isDirectoryPerson: (username: string) => Promise<boolean>;
  /** The directory's verdict on a person, asked at most once per interval (shared with sessions). */
  recheck: Pick<DirectoryRecheck, 'recent' | 'person'>;
  /** GATEWAY_KERBEROS: `Authorization: Negotiate` admitted as Basic is. Undefined while off. */
  negotiate?: {
    /** The ticket (GSSAPI, the realm, the replay record): the name it signs in as, and the mutual-authentication answer. */
    accept: (token: string, ip: string) => Promise<{ username: string; realm: string; response?: string }>;
    /** The person as a sign-in admits them (the directory, the second-factor rule, provisioning); throws a GatewayError with the refusal. */
    verify: (username: string, realm: string, ip: string) => Promise<DirectoryUser>;
    /** Who each ticket name was admitted as, for Basic's cache time: a script's every call then costs GSSAPI and one Redis write, not the directory and Paperless. */
    people: CredentialCache<string>;
  };
  /** The gateway's own origin: Basic requests that change something must come from it or from no page. */
  publicUrl: URL;
  ipOf: (req: IncomingMessage) => string;
  log: Logger;
}

/**
 * Token owner lookups one client address may have waiting at once (distinct tokens; requests
 * with the same token share one): made-up tokens each cost a question to Paperless, and without
 * a cap one client's could queue everyone else's sign-ins behind them.
 */
const MAX_LOOKUPS_PER_CLIENT = 4;

/**
 * Whether a request looks like a browser's, so that a refusal must not carry a Basic
 * challenge (the browser would prompt for a password and then send it on its own, to any
 * site's requests): it carries a Fetch Metadata header (`Sec-Fetch-*`), `Origin` or
 * `X-Requested-With`, or a `Mozilla/` User-Agent together with `Accept` naming `text/html`.
 * Scripts send none of these, and keep the challenge they may wait for (curl --anyauth).
 */
export function looksLikeBrowser(req: IncomingMessage): boolean {
  const h = req.headers;
  if (h['sec-fetch-mode'] !== undefined || h['sec-fetch-site'] !== undefined || h['sec-fetch-dest'] !== undefined) return true;
  if (h.origin !== undefined || h['x-requested-with'] !== undefined) return true;
  return (h['user-agent'] ?? '').startsWith('Mozilla/') && (h.accept ?? '').toLowerCase().includes('text/html');
}

/** The Basic challenge for scripts; browsers get Paperless's own `Token` one, which they never prompt for. */
function challengeFor(req: IncomingMessage): Record<string, string> {
  return { 'WWW-Authenticate': looksLikeBrowser(req) ? 'Token' : 'Basic realm="Paperless", charset="UTF-8"' };
}

/**
 * `Authorization` split as DRF splits it: bytes.split(), on ASCII whitespace only. `Token\xa0abc`
 * is one word to DRF, so no token; deciding with JavaScript's \s would call it one.
 */
export function drfAuthorization(header: string): { scheme: string; credentials: string[] } {
  const [scheme = '', ...credentials] = header.split(/[ \t\n\r\v\f]+/).filter(Boolean);
  return { scheme: scheme.toLowerCase(), credentials };
}

function basicCredentials(credentials: string[]): { username: string; password: string } | undefined {
  if (credentials.length !== 1) return undefined;
  const encoded = credentials[0] ?? '';
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * API clients without a gateway session (mobile apps, scripts): a Paperless token is passed
 * through for Paperless to judge, once the gateway knows whose it is and the directory still
 * lets that person in; Basic credentials are checked against the directory here and replaced by
 * the identity header (by the forwarder). Anything else falls through to "require login" (401
 * JSON). Runs after "load session": a signed-in browser's API calls are not API clients.
 */
export function createApiClientStep(deps: ApiClientDeps): Step {
  /**
   * A browser that holds a Basic password (or a Kerberos ticket for this host) sends it on any
   * site's forms too: Paperless skips CSRF for header-authenticated requests, so the gateway
   * checks the origin as for sessions.
   */
  const foreignOrigin = (exchange: Exchange, via: 'basic' | 'kerberos'): Decision | undefined => {
    const { req } = exchange;
    if (SAFE_METHODS.has(req.method ?? 'GET')) return undefined;
    const source = sourceOrigin(req.headers.origin, req.headers.referer);
    if (source === undefined || source === deps.publicUrl.origin) return undefined;
    deps.log.warn({ event: 'csrf.refused', via, path: exchange.path, origin: req.headers.origin, referer: req.headers.referer, ip: deps.ipOf(req) }, `${via === 'basic' ? 'Basic' : 'Kerberos'} request from another origin refused`);
    const named = source === 'null' ? 'null (a sandboxed frame, or a data: or file: page)' : source;
    return { kind: 'refuse', status: 403, detail: `CSRF Failed: Origin checking failed - ${named} does not match ${deps.publicUrl.origin}.` };
  };

  const basic = async (exchange: Exchange, credentials: string[]): Promise<Decision> => {
    const { req } = exchange;
    const refuse = (detail: string, headers: Record<string, string> = {}): Decision => ({ kind: 'refuse', status: 401, detail, headers: { ...headers, ...challengeFor(req) } });
    const foreign = foreignOrigin(exchange, 'basic');
    if (foreign) return foreign;
    const creds = basicCredentials(credentials);
    if (!creds) return refuse('Invalid basic header. Credentials not correctly base64 encoded.');
    let username = deps.basicCache?.get(creds.username, creds.password);
    if (!username) {
      const ip = deps.ipOf(req);
      // A password changed while this check runs must not be cached afresh when it ends.
      const since = deps.basicCache?.generation ?? 0;
      try {
        username = (await deps.verify(creds.username, creds.password, ip)).username;
      } catch (err) {
        if (err instanceof InvalidCredentialsError) {
          return refuse('Invalid username/password.', refusedSignIn(deps.log, err, { via: 'basic', username: creds.username, ip }));
        }
        throw err;
      }
      deps.basicCache?.setUnlessForgotten(since, username, creds.username, creds.password);
    }
    return { kind: 'user', username, via: 'basic' };
  };

  /**
   * The gateway sets no identity for a token, so to it such a client is anonymous; a body from
   * an anonymous client could trickle into an upstream socket for as long as the stall timeout
   * allows, again and again. So a token that brings a body is asked about first (and
   * remembered for a minute): only a token Paperless accepts may hold a socket with a body.
   */
  const tokenWithBody = async (exchange: Exchange, key: string | undefined, acceptedJustNow: boolean): Promise<Decision> => {
    if (key !== undefined && (acceptedJustNow || deps.tokenCache.get(key))) {
      if (acceptedJustNow) deps.tokenCache.set(true, key);
      return { kind: 'anonymous', reason: 'token' };
    }
    // Remembered from the check only, never renewed by use: a revoked token ages out.
    if (key !== undefined && (await deps.tokenValid(key))) {
      deps.tokenCache.set(true, key);
      return { kind: 'anonymous', reason: 'token' };
    }
    deps.log.info({ event: 'login.failure', via: 'token', reason: 'InvalidToken', ip: deps.ipOf(exchange.req), path: exchange.path }, 'request with a body refused: Paperless does not accept its token');
    // Paperless's own answer to a bad token (DRF lists session authentication first, so 403).
    return { kind: 'refuse', status: 403, detail: 'Invalid token.' };
  };

  /** A token whose person the directory no longer lets in: 401, so the app asks to sign in again. */
  const refusedPerson = (exchange: Exchange, username: string, reason: string): Decision => {
    deps.log.info({ event: 'token.refused', username, reason, ip: deps.ipOf(exchange.req), path: exchange.path }, 'token refused: the directory no longer lets its person in');
    return { kind: 'refuse', status: 401, detail: `The account this token belongs to may no longer sign in: ${reason}.`, headers: { 'WWW-Authenticate': 'Token' } };
  };

  /** What follows once the token's person is known (or known to be nobody the gateway manages). */
  const afterPerson = (exchange: Exchange, key: string, username: string | null, acceptedJustNow: boolean): Decision | Promise<Decision> => {
    const pass = (): Decision | Promise<Decision> => (hasBody(exchange.req) ? tokenWithBody(exchange, key, acceptedJustNow) : { kind: 'anonymous', reason: 'token' });
    if (username === null) return pass();
    const recent = deps.recheck.recent(username);
    if (recent) return recent.active ? pass() : refusedPerson(exchange, username, recent.reason);
    return deps.recheck.person(username).then((verdict) => (verdict && !verdict.active ? refusedPerson(exchange, username, verdict.reason) : pass()));
  };

  const lookups = new Map<string, Promise<TokenOwner>>();
  const lookupsPerClient = new AddressShares(MAX_LOOKUPS_PER_CLIENT);

  /** One lookup per token however many requests bring it, and a few per client address at most. */
  const lookUp = (exchange: Exchange, key: string): Promise<TokenOwner> | undefined => {
    const joined = lookups.get(key);
    if (joined) return joined;
    const ip = deps.ipOf(exchange.req);
    if (!lookupsPerClient.take(ip)) return undefined;
    const pending = deps.tokenOwners.ownerOf(key).finally(() => {
      lookups.delete(key);
      lookupsPerClient.give(ip);
    });
    lookups.set(key, pending);
    return pending;
  };

  /** Whose the token is, and whether the gateway manages that person; remembered for an interval. */
  const findPerson = async (exchange: Exchange, key: string): Promise<Decision> => {
    const pending = lookUp(exchange, key);
    if (!pending) {
      deps.log.warn({ event: 'token.lookups_limited', ip: deps.ipOf(exchange.req), path: exchange.path }, 'too many token lookups at once from one client');
      return { kind: 'refuse', status: 503, detail: 'Too many new tokens are being checked at once from your address. Try again in a moment.', headers: { 'Retry-After': '1' } };
    }
    const owner = await pending;
    if (owner.kind === 'refused') {
      deps.log.info({ event: 'login.failure', via: 'token', reason: 'InvalidToken', ip: deps.ipOf(exchange.req), path: exchange.path }, 'request refused: Paperless does not accept its token');
      return { kind: 'refuse', status: owner.status, detail: owner.detail, headers: owner.status === 401 ? { 'WWW-Authenticate': 'Token' } : {} };
    }
    const username = owner.kind === 'person' && (await deps.isDirectoryPerson(owner.username)) ? owner.username : null;
    if (owner.kind === 'unattributed') deps.log.debug({ event: 'token.unattributed', path: exchange.path }, 'Paperless does not name this token\'s user (no view_uisettings): an account the gateway does not manage');
    deps.tokenPeople.set({ username }, key);
    return afterPerson(exchange, key, username, owner.kind === 'person' && owner.askedPaperless);
  };

  const token = (exchange: Exchange, credentials: string[]): Decision | Promise<Decision> => {
    const key = credentials.length === 1 ? (credentials[0] as string) : undefined;
    // DRF's own errors (no key, spaces in it) come from Paperless, for a request without a body.
    if (key === undefined) return hasBody(exchange.req) ? tokenWithBody(exchange, key, false) : { kind: 'anonymous', reason: 'token' };
    const known = deps.tokenPeople.get(key);
    return known ? afterPerson(exchange, key, known.username, false) : findPerson(exchange, key);
  };

  /**
   * `Authorization: Negotiate` (curl --negotiate, scripts on domain-joined machines): each token is
   * good once, so every request's is accepted afresh; the person it names is remembered as Basic's is.
   */
  const negotiate = async (exchange: Exchange, kerberos: NonNullable<ApiClientDeps['negotiate']>): Promise<Decision> => {
    const { req } = exchange;
    const foreign = foreignOrigin(exchange, 'kerberos');
    if (foreign) return foreign;
    const ip = deps.ipOf(req);
    try {
      const header = negotiateHeader(req.headers.authorization);
      if (header.kind !== 'token') return { kind: 'refuse', status: 401, detail: 'A Kerberos ticket is needed here; NTLM is not accepted.', headers: { 'WWW-Authenticate': 'Token' } };
      const ticket = await kerberos.accept(header.token, ip);
      let username = kerberos.people.get(ticket.username, ticket.realm);
      // The directory's verdict since (a session's re-check found the person gone): not from memory.
      if (username && deps.recheck.recent(username)?.active === false) {
        kerberos.people.deleteWhere((person) => person === username);
        username = undefined;
      }
      if (!username) {
        const since = kerberos.people.generation;
        username = (await kerberos.verify(ticket.username, ticket.realm, ip)).username;
        kerberos.people.setUnlessForgotten(since, username, ticket.username, ticket.realm);
      }
      return { kind: 'user', username, via: 'kerberos', ...(ticket.response ? { answer: `Negotiate ${ticket.response}` } : {}) };
    } catch (err) {
      if (!(err instanceof GatewayError) || err.status >= 500) throw err;
      const headers = refusedSignIn(deps.log, err, { via: 'kerberos', username: undefined, ip });
      // No new Negotiate challenge: a client would only send the same ticket again.
      return { kind: 'refuse', status: err.status === 400 ? 400 : err.status === 403 ? 403 : 401, detail: err.userMessage, headers: { ...headers, 'WWW-Authenticate': 'Token' } };
    }
  };

  return (exchange) => {
    if (exchange.session || !isApiPath(exchange.path)) return undefined;
    const { scheme, credentials } = drfAuthorization(exchange.req.headers.authorization ?? '');
    if (scheme === 'token') return token(exchange, credentials);
    if (scheme === 'basic' && deps.basicCache) return basic(exchange, credentials);
    if (deps.negotiate) {
      if (scheme === 'negotiate') return negotiate(exchange, deps.negotiate);
      // Scripts learn from the 401 that Negotiate is offered (one challenge each); browsers are
      // not asked, or every call of Paperless's UI would be a Kerberos exchange.
      // Any Mozilla/ user agent counts as a browser here: over plain http an <img> of another site
      // brings no Fetch Metadata, no Origin and no text/html, and a browser answering the challenge
      // would send its ticket with another site's GET.
      const agent = exchange.req.headers['user-agent'] ?? '';
      if (scheme === '' && !looksLikeBrowser(exchange.req) && !agent.startsWith('Mozilla/')) return { kind: 'refuse', status: 401, detail: 'Authentication credentials were not provided.', headers: { 'WWW-Authenticate': ['Token', 'Negotiate'] } };
    }
    return undefined;
  };
}
