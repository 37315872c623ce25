import { GatewayError } from '../errors.js';
import { PaperlessApiError } from '../paperless/errors.js';
import { jsonOf, PaperlessClient } from '../paperless/client.js';

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
  private readonly client: PaperlessClient;

  constructor(private readonly config: { apiUrl: URL; headerName: string; timeoutMs: number }) {
    this.client = new PaperlessClient({ url: config.apiUrl, timeoutMs: config.timeoutMs });
  }

  close(): void {
    this.client.close();
  }

  private async call(method: 'GET' | 'POST', path: string, username: string): Promise<unknown> {
    // Not repeated: a second generate_auth_token would replace the first one's token.
    const answer = await this.client.call(method, path, { user: username, header: this.config.headerName });
    const what = `${method} ${path} as ${username}`;
    if (answer.status === 401 || answer.status === 403) throw new RemoteUserApiDisabledError(`${what} answered ${answer.status}`);
    if (answer.status < 200 || answer.status >= 300) throw new PaperlessApiError(`${what}: Paperless answered ${answer.status}: ${answer.text.slice(0, 200)}`, answer.status);
    return jsonOf<unknown>(answer, what);
  }

  /**
   * Replaces the user's Paperless token (generate_auth_token as that user): every app holding
   * the old one is signed out. Used when an app password that fetched the token is revoked.
   */
  async rotate(username: string): Promise<void> {
    const created = await this.call('POST', '/api/profile/generate_auth_token/', username);
    if (typeof created !== 'string' || created === '') throw new PaperlessApiError(`generate_auth_token for ${username} returned no token`);
  }

  async tokenFor(username: string): Promise<string> {
    const profile = (await this.call('GET', '/api/profile/', username)) as { auth_token?: unknown };
    if (typeof profile.auth_token === 'string' && profile.auth_token !== '') return profile.auth_token;
    const created = await this.call('POST', '/api/profile/generate_auth_token/', username);
    if (typeof created !== 'string' || created === '') throw new PaperlessApiError(`generate_auth_token for ${username} returned no token`);
    return created;
  }
}
