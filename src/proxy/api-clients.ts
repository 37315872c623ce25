import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { DirectoryUser } from '../directory/directory.js';
import { InvalidCredentialsError } from '../directory/errors.js';
import { refusedSignIn } from '../auth/refused-sign-in.js';
import type { CredentialCache } from './credential-cache.js';
import { hasBody, type Decision, type Exchange, type Step } from './exchange.js';
import { isApiPath } from '../url-path.js';

export interface ApiClientDeps {
  verify: (username: string, password: string, ip: string) => Promise<DirectoryUser>;
  /** Undefined when GATEWAY_API_BASIC_AUTH is off. */
  basicCache?: CredentialCache<string>;
  /** Asks Paperless whether a token is valid (true/false); throws when Paperless cannot say. */
  tokenValid: (key: string) => Promise<boolean>;
  /** Tokens Paperless recently accepted. */
  tokenCache: CredentialCache<true>;
  ipOf: (req: IncomingMessage) => string;
  log: Logger;
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
 * through for Paperless to judge; Basic credentials are checked against the directory here
 * and replaced by the identity header (by the forwarder). Anything else falls through to
 * "require login" (401 JSON). Runs after "load session": a signed-in browser's API calls are
 * not API clients.
 */
export function createApiClientStep(deps: ApiClientDeps): Step {
  const basic = async (exchange: Exchange, credentials: string[]): Promise<Decision> => {
    const creds = basicCredentials(credentials);
    const refuse = (detail: string, headers: Record<string, string> = {}): Decision => ({
      kind: 'refuse',
      status: 401,
      detail,
      headers: { ...headers, 'WWW-Authenticate': 'Basic realm="Paperless", charset="UTF-8"' },
    });
    if (!creds) return refuse('Invalid basic header. Credentials not correctly base64 encoded.');
    let username = deps.basicCache?.get(creds.username, creds.password);
    if (!username) {
      const ip = deps.ipOf(exchange.req);
      try {
        username = (await deps.verify(creds.username, creds.password, ip)).username;
      } catch (err) {
        if (err instanceof InvalidCredentialsError) {
          return refuse('Invalid username/password.', refusedSignIn(deps.log, err, { via: 'basic', username: creds.username, ip }));
        }
        throw err;
      }
      deps.basicCache?.set(username, creds.username, creds.password);
    }
    return { kind: 'user', username, via: 'basic' };
  };

  /**
   * The gateway sets no identity for a token, so to it such a client is anonymous; a body from
   * an anonymous client could trickle into an upstream socket for as long as the stall timeout
   * allows, again and again. So a token that brings a body is asked about first (and
   * remembered for a minute): only a token Paperless accepts may hold a socket with a body.
   */
  const tokenWithBody = async (exchange: Exchange, credentials: string[]): Promise<Decision> => {
    const key = credentials.length === 1 ? (credentials[0] as string) : undefined;
    if (key !== undefined && deps.tokenCache.get(key)) return { kind: 'anonymous', reason: 'token' };
    // Remembered from the check only, never renewed by use: a revoked token ages out.
    if (key !== undefined && (await deps.tokenValid(key))) {
      deps.tokenCache.set(true, key);
      return { kind: 'anonymous', reason: 'token' };
    }
    deps.log.info({ event: 'login.failure', via: 'token', reason: 'InvalidToken', ip: deps.ipOf(exchange.req), path: exchange.path }, 'request with a body refused: Paperless does not accept its token');
    // Paperless's own answer to a bad token (DRF lists session authentication first, so 403).
    return { kind: 'refuse', status: 403, detail: 'Invalid token.' };
  };

  return (exchange) => {
    if (exchange.session || !isApiPath(exchange.path)) return undefined;
    const { scheme, credentials } = drfAuthorization(exchange.req.headers.authorization ?? '');
    // A token is Paperless's to judge; DRF's own errors (no key, spaces in it) come from there too.
    if (scheme === 'token') return hasBody(exchange.req) ? tokenWithBody(exchange, credentials) : { kind: 'anonymous', reason: 'token' };
    if (scheme === 'basic' && deps.basicCache) return basic(exchange, credentials);
    return undefined;
  };
}
