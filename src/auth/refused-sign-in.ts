import type { Logger } from 'pino';
import type { GatewayError } from '../errors.js';

/** How a sign-in arrived: the form, an app's `/api/token/`, or Basic credentials on the API. */
export type SignInChannel = 'form' | 'api-token' | 'basic' | 'kerberos';

/**
 * What every refused sign-in gets, whichever way it came: one audit line, and `Retry-After`
 * when a ban refused it. Each channel then answers in its own format (the form page, JSON as
 * Paperless gives it, a 401 with a challenge).
 */
export function refusedSignIn(log: Logger, err: GatewayError, attempt: { via: SignInChannel; username: string | undefined; ip: string | undefined }): Record<string, string> {
  log.info({ event: 'login.failure', via: attempt.via, reason: err.name, detail: err.message, username: attempt.username, ip: attempt.ip }, 'sign-in refused');
  // A ban of either step says when trying again makes sense.
  return 'retryAfterSeconds' in err && typeof err.retryAfterSeconds === 'number' ? { 'Retry-After': String(err.retryAfterSeconds) } : {};
}
