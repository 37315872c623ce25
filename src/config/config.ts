/** The gateway's validated settings, grouped by the part of the gateway that uses them. */
export interface Config {
  server: { host: string; port: number; publicUrl: URL; trustProxy: false | number | string[] };
  upstream: { url: URL; timeoutMs: number };
  redis: { url: string; keyPrefix: string };
  session: { secret: string; cookieName: string; idleTimeoutMs: number; maxLifetimeMs: number; secureCookie: boolean };
  ldap: LdapConfig;
  identity: { remoteUserHeader: string; paperlessCookiePrefix: string };
  log: { level: string };
}

export interface LdapConfig {
  urls: string[];
  bindDn: string;
  bindPassword: string;
  userBase: string;
  userFilter: string;
  attributes: { username: string; mail: string; firstName: string; lastName: string; displayName: string };
  groupBase?: string;
  groupFilter: string;
  groupNameAttribute: string;
  allowedGroups: string[];
  startTls: boolean;
  caFile?: string;
  connectTimeoutMs: number;
  timeoutMs: number;
}
