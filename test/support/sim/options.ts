/** The Paperless settings the simulator follows (PAPERLESS_* names in comments). */
export interface SimOptions {
  /** Django META key, e.g. HTTP_REMOTE_USER (PAPERLESS_HTTP_REMOTE_USER_HEADER_NAME). */
  remoteUserKey?: string;
  enableRemoteUser?: boolean;
  /**
   * PAPERLESS_AUDIT_LOG_ENABLED (default true). Off, Paperless 2.20.15 and 3.0.5 stop header login
   * for pages (a redirect to the login page) while the API still takes the header (contract §9).
   * The simulator only: the Django upstream's settings do not reproduce it.
   */
  auditLogEnabled?: boolean;
  enableRemoteUserApi?: boolean;
  cookiePrefix?: string;
  /** PAPERLESS_URL: added to CSRF trusted origins. */
  paperlessUrl?: string;
  /** PAPERLESS_PROXY_SSL_HEADER set to X-Forwarded-Proto: https. */
  trustForwardedProto?: boolean;
  logoutRedirectUrl?: string;
  /** Which Paperless-ngx release line to behave as: 2 (2.20.15) or 3 (3.0.5; contract §8). */
  line?: 2 | 3;
  /** PAPERLESS_AI_ENABLED: 3.x's document chat answers 400 without it (only the Django upstream has the chat). */
  aiEnabled?: boolean;
  /** DRF's max_page_size (Paperless: 100000); lower it to make clients follow `next`. */
  maxPageSize?: number;
  /**
   * How Paperless's server answers a websocket handshake Channels denies (contract §9):
   * 'never' as granian 2.5.4 under 2.20.15 (the socket stays open, no answer), 'forbidden' as
   * granian 2.7 under 3.0.5 (403, empty body). Default: by `line`.
   */
  deniedHandshake?: 'never' | 'forbidden';
}

export type Settings = Required<Omit<SimOptions, 'deniedHandshake'>> & Pick<SimOptions, 'deniedHandshake'>;

export function settings(options: SimOptions): Settings {
  return {
    remoteUserKey: 'HTTP_REMOTE_USER',
    enableRemoteUser: true,
    auditLogEnabled: true,
    enableRemoteUserApi: false,
    cookiePrefix: '',
    paperlessUrl: '',
    trustForwardedProto: false,
    logoutRedirectUrl: '/accounts/login/?loggedout=1',
    maxPageSize: 100000,
    line: 2,
    aiEnabled: false,
    ...options,
  };
}
