import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { DirectoryUser } from '../directory/directory.js';
import { InvalidCredentialsError } from '../directory/errors.js';
import { BannedError } from '../regulation/regulation.js';
import type { BasicAuthCache } from './basic-auth-cache.js';
import { sendJson, type Exchange, type Step } from './exchange.js';
import { isApiPath } from './pipeline.js';

export interface ApiClientDeps {
  verify: (username: string, password: string, ip: string) => Promise<DirectoryUser>;
  /** Undefined when GATEWAY_API_BASIC_AUTH is off. */
  basicCache?: BasicAuthCache;
  /** Forwards without identity and without the browser's Paperless session. */
  forwardAnonymous: (x: Exchange) => void;
  /** Sets the identity header (and forwarding headers) for a user, then forwards. */
  forwardAs: (x: Exchange, username: string) => void;
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
 * API clients without a gateway session (mobile apps, scripts): a Paperless
 * token is passed through for Paperless to judge; Basic credentials are
 * checked against the directory here and replaced by the identity header.
 * Anything else falls through to "require login" (401 JSON). Runs after
 * "load session": a signed-in browser's API calls are not API clients.
 */
export function createApiClientStep(deps: ApiClientDeps): Step {
  const basic = async (x: Exchange, credentials: string[]): Promise<void> => {
    const creds = basicCredentials(credentials);
    delete x.req.headers.authorization; // it must never reach Paperless, whatever happens next
    const refuse = (detail: string, headers: Record<string, string> = {}) =>
      sendJson(x.res, 401, { detail }, { ...headers, 'WWW-Authenticate': 'Basic realm="Paperless", charset="UTF-8"' });
    if (!creds) {
      refuse('Invalid basic header. Credentials not correctly base64 encoded.');
      return;
    }
    let username = deps.basicCache?.get(creds.username, creds.password);
    if (!username) {
      const ip = deps.ipOf(x.req);
      try {
        username = (await deps.verify(creds.username, creds.password, ip)).username;
      } catch (err) {
        if (err instanceof InvalidCredentialsError) {
          deps.log.info({ event: 'login.failure', via: 'basic', reason: err.name, detail: err.message, username: creds.username, ip }, 'basic sign-in failed');
          refuse('Invalid username/password.', err instanceof BannedError ? { 'Retry-After': String(err.retryAfterSeconds) } : {});
          return;
        }
        throw err;
      }
      deps.basicCache?.set(creds.username, creds.password, username);
    }
    deps.forwardAs(x, username);
  };

  return (x) => {
    if (x.session || !isApiPath(x.path)) return true;
    const { scheme, credentials } = drfAuthorization(x.req.headers.authorization ?? '');
    // A token is Paperless's to judge; DRF's own errors (no key, spaces in it) come from there too.
    if (scheme === 'token') {
      deps.forwardAnonymous(x);
      return false;
    }
    if (scheme === 'basic' && deps.basicCache) return basic(x, credentials).then(() => false);
    return true;
  };
}
