import type { GroupMode, PresetName } from './directory-presets.js';
import type { ProvisioningMapping } from './mapping.js';
import type { Language } from './languages.js';

/** The gateway's validated settings, grouped by the part of the gateway that uses them. */
export interface Config {
  server: { host: string; port: number; workers: number; publicUrl: URL; trustProxy: false | number | string[] };
  /**
   * maxPerClient: requests and websocket handshakes one client address may have in flight to
   * Paperless at once; connections: the upstream pool's size; handshakeTimeoutMs: how long a
   * websocket handshake may wait for Paperless's answer.
   */
  upstream: { url: URL; timeoutMs: number; maxPerClient: number; connections: number; handshakeTimeoutMs: number };
  /** How long a client may take to send its headers, and how long its request body may stall. */
  client: { headerTimeoutMs: number; bodyIdleTimeoutMs: number };
  /**
   * The gateway's own pages: how many connections the pages thread takes, and the whole time a
   * page's request body may take to arrive (read before the request reaches the pages).
   */
  pages: { connections: number; bodyTimeoutMs: number };
  redis: { url: string; keyPrefix: string };
  session: { secret: string; cookieName: string; idleTimeoutMs: number; maxLifetimeMs: number; secureCookie: boolean };
  ldap: LdapConfig;
  /** reservedUsernames: local Paperless accounts no directory user may become (GATEWAY_RESERVED_USERNAMES). */
  identity: { remoteUserHeader: string; paperlessCookiePrefix: string; reservedUsernames: string[] };
  provisioning: ProvisioningConfig;
  apiClients: { basicAuth: boolean; basicCacheTtlMs: number };
  regulation: RegulationConfig;
  mfa: MfaConfig;
  /** Absent while GATEWAY_KERBEROS is off. */
  kerberos?: KerberosConfig;
  passwords: PasswordConfig;
  log: { level: string; requests: boolean };
  ops: { metricsToken?: string; metricsAddress?: { host: string; port: number }; shutdownTimeoutMs: number };
  web: WebConfig;
}

/** The sign-in page and the gateway's other pages. */
export interface WebConfig {
  /** GATEWAY_LANGUAGE; undefined: each request's Accept-Language decides. */
  language?: Language;
  /** GATEWAY_REMEMBER_ME_DURATION; undefined: no "remember me" box. */
  rememberMeMs?: number;
  brand: BrandConfig;
}

export interface BrandConfig {
  title: string;
  logo?: { url: URL } | { file: string };
  /** #rrggbb, dark enough for white text. */
  accent: string;
  footer?: string;
  footerUrl?: URL;
}

export interface ProvisioningConfig {
  enabled: boolean;
  apiUrl: URL;
  token: string;
  timeoutMs: number;
  mapping: ProvisioningMapping;
  failure: 'deny' | 'allow';
  /** Whether a directory user may take over a Paperless account with a local password that the gateway did not create. */
  adoptLocalUsers: boolean;
  syncIntervalMs?: number;
  syncDeprovision: boolean;
  /** The largest share (0 to 1) of the gateway's active users one sync may deactivate (GATEWAY_SYNC_DEPROVISION_MAX_SHARE). */
  syncDeprovisionMaxShare: number;
}

export interface LdapConfig {
  preset: PresetName;
  urls: string[];
  bindDn: string;
  bindPassword: string;
  userBase: string;
  userFilter: string;
  attributes: { username: string; mail: string; firstName: string; lastName: string; displayName: string };
  groupBase: string;
  groupMode: GroupMode;
  groupFilter: string;
  groupNameAttribute: string;
  nestedGroups: boolean;
  nestedDepth: number;
  allowedGroups: string[];
  startTls: boolean;
  tls: { caFile?: string; serverName?: string; minVersion: 'TLSv1.2' | 'TLSv1.3'; skipVerify: boolean };
  connectTimeoutMs: number;
  timeoutMs: number;
  pageSize: number;
  recheckIntervalMs: number;
}

/** Password self-service (GATEWAY_PASSWORD_*). */
export interface PasswordConfig {
  /** Whether people may change their directory password through the gateway. */
  changeEnabled: boolean;
  /** After a change: sign out the person's other sessions, or leave them. */
  signOutOthers: boolean;
  /** Warn at sign-in when the password expires within this long; undefined: never. */
  expiryWarningMs?: number;
}

/** Second factors (GATEWAY_MFA_*). */
export interface MfaConfig {
  /** off: no second factors at all; optional: whoever enrolled one uses it; required: everyone must. */
  mode: 'off' | 'optional' | 'required';
  /** Members of these groups must use a second factor even when the mode is optional. */
  requiredGroups: readonly string[];
  /** 32 bytes: encrypts the factors at rest and keys their hashes; absent while off. */
  key?: Buffer;
  /** Who may enrol a first factor when one is required: only holders of an admin's link, or also people on their very first sign-in. */
  enrolment: 'link' | 'first-login';
  enrolmentLinkTtlMs: number;
  /** How long "remember this device" skips the second step; undefined: no such box. */
  rememberDeviceMs?: number;
  /** The name authenticator apps show beside the account. */
  issuer: string;
}

/** Bans after failed sign-ins (see auth/regulation.ts). */
export interface RegulationConfig {
  enabled: boolean;
  maxFailuresPerUserAndIp: number;
  maxFailuresPerIp: number;
  maxFailuresPerUser: number;
  windowMs: number;
  banMs: number;
  maxBanMs: number;
}

/** Sign-in without a password on domain-joined PCs (SPNEGO, `Authorization: Negotiate`). */
export interface KerberosConfig {
  /** GATEWAY_KERBEROS_KEYTAB_FILE, or the bytes of GATEWAY_KERBEROS_KEYTAB (written to a private file at start). */
  keytab: { file: string } | { bytes: Buffer };
  /** GATEWAY_KERBEROS_SERVICE_PRINCIPAL: SERVICE/host[@REALM]; default HTTP/<host of GATEWAY_PUBLIC_URL>. */
  servicePrincipal: string;
  /** GATEWAY_KERBEROS_REALMS: whose tickets are accepted (as written); their people are looked up by the name before the @. */
  realms: string[];
  /** GATEWAY_KERBEROS_REPLAY_CACHE_DIR: where GSSAPI remembers authenticators it has seen (writable). */
  replayCacheDir: string;
  /** GATEWAY_KERBEROS_CLOCK_SKEW: how far a ticket's or an authenticator's time may be from the gateway's (GSSAPI's clockskew). */
  clockSkewMs: number;
}
