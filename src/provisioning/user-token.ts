import { GatewayError } from '../errors.js';
import { PaperlessApiError } from './errors.js';

/** Paperless ignored the identity header on /api/: its API header mode is off. */
export class RemoteUserApiDisabledError extends GatewayError {
  readonly status = 502;
  constructor(detail: string) {
    super(
      `${detail}: Paperless does not accept the identity header on /api/; set PAPERLESS_ENABLE_HTTP_REMOTE_USER_API=true`,
      'Paperless is not set up for app sign-in through the gateway (PAPERLESS_ENABLE_HTTP_REMOTE_USER_API=true is needed). Ask your administrator.',
    );
  }
}

/**
 * Gets a user's own Paperless API token, asking Paperless as that user (the
 * identity header on /api/, which needs PAPERLESS_ENABLE_HTTP_REMOTE_USER_API).
 * An existing token is returned as is: generating one would replace it and
 * sign the user's other apps out.
 */
export class PaperlessUserToken {
  constructor(private readonly config: { apiUrl: URL; headerName: string; timeoutMs: number }) {}

  private async call(method: 'GET' | 'POST', path: string, username: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.config.apiUrl), {
        method,
        headers: { [this.config.headerName]: username, Accept: 'application/json; version=9' },
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (err) {
      throw new PaperlessApiError(`${method} ${path} as ${username} failed: ${String(err)}`, undefined, { cause: err });
    }
    const text = await res.text();
    if (res.status === 401 || res.status === 403) throw new RemoteUserApiDisabledError(`${method} ${path} as ${username} answered ${res.status}`);
    if (!res.ok) throw new PaperlessApiError(`${method} ${path} as ${username}: Paperless answered ${res.status}: ${text.slice(0, 200)}`, res.status);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new PaperlessApiError(`${method} ${path}: not JSON: ${text.slice(0, 120)}`, res.status);
    }
  }

  async tokenFor(username: string): Promise<string> {
    const profile = (await this.call('GET', '/api/profile/', username)) as { auth_token?: unknown };
    if (typeof profile.auth_token === 'string' && profile.auth_token !== '') return profile.auth_token;
    const created = await this.call('POST', '/api/profile/generate_auth_token/', username);
    if (typeof created !== 'string' || created === '') throw new PaperlessApiError(`generate_auth_token for ${username} returned no token`);
    return created;
  }
}
