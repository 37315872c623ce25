import type { Config, KerberosConfig } from '../config/config.js';
import { loadGssapi } from '../kerberos/gssapi.js';
import { keytabBytes, useKeytab } from '../kerberos/keytab.js';
import { judgeKeytab } from '../kerberos/keytab-entries.js';
import { Negotiator } from '../kerberos/negotiate.js';
import type { Directory } from '../directory/directory.js';
import { DirectorySettingError } from '../directory/errors.js';
import { mappingForLine, type ProvisioningMapping } from '../config/mapping.js';
import { lineOf, UI_PERMISSIONS } from '../config/permissions.js';
import type { PaperlessApi } from '../paperless/api.js';
import { PaperlessClient } from '../paperless/client.js';
import { pingRedis, type RedisClient as Redis } from '../redis/client.js';
import { redisKeys } from '../redis/keys.js';
import { FactorStore } from '../mfa/factor-store.js';
import { MfaKeys } from '../mfa/mfa-keys.js';

export interface CheckResult {
  name: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
  fix?: string;
}

export interface CheckDeps {
  config: Config;
  redis: Redis;
  directory: Directory;
  api?: PaperlessApi;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const start = performance.now();
  try {
    const value = await work();
    return { value, ms: Math.round(performance.now() - start) };
  } catch (error) {
    return { error, ms: Math.round(performance.now() - start) };
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Asks Paperless as `username` through the identity header; the status says whether it listened. */
async function asUser(config: Config, path: string, username: string): Promise<number> {
  const client = new PaperlessClient({ url: config.upstream.url, timeoutMs: config.provisioning.timeoutMs });
  return (await client.call('GET', path, { user: username, header: config.identity.remoteUserHeader })).status;
}

/** Tries each dependency the way the running gateway will use it, and says how to fix what fails. */
export async function runChecks(deps: CheckDeps): Promise<CheckResult[]> {
  const { config } = deps;
  const results: CheckResult[] = [{ name: 'configuration', status: 'ok', detail: 'every setting is valid' }];

  const ping = await timed(() => pingRedis(deps.redis, config.redis.url));
  results.push(
    ping.error
      ? { name: 'Redis', status: 'fail', detail: message(ping.error), fix: 'start Redis, or set GATEWAY_REDIS_URL to where it runs' }
      : { name: 'Redis', status: 'ok', detail: `PING answered in ${ping.ms} ms` },
  );

  if (!ping.error && config.mfa.mode !== 'off' && config.mfa.key) results.push(...(await secondFactorChecks(deps.redis, config)));
  if (config.kerberos) results.push(await kerberosCheck(config.kerberos));

  const bind = await timed(() => deps.directory.check());
  results.push(
    bind.error
      ? directoryFailure('directory: service account', bind.error, 'check GATEWAY_LDAP_URL, GATEWAY_LDAP_BIND_DN and GATEWAY_LDAP_BIND_PASSWORD (and the CA for TLS)')
      : { name: 'directory: service account', status: 'ok', detail: `bound in ${bind.ms} ms; the search bases exist` },
  );
  if (config.ldap.tls.skipVerify) {
    results.push({
      name: 'directory: certificate',
      status: 'warn',
      detail: "GATEWAY_LDAP_TLS_SKIP_VERIFY=true: the directory's certificate is not checked, so anyone between the gateway and the directory can read every password",
      fix: 'set GATEWAY_LDAP_CA_FILE to the CA that signed the certificate and remove GATEWAY_LDAP_TLS_SKIP_VERIFY',
    });
  }
  if (!bind.error) {
    const search = await timed(() => deps.directory.lookup('gateway-check-no-such-user'));
    results.push(
      search.error
        ? directoryFailure('directory: user search', search.error, 'check GATEWAY_LDAP_USER_BASE and GATEWAY_LDAP_USER_FILTER, and that the service account may search there')
        : { name: 'directory: user search', status: 'ok', detail: `searched ${config.ldap.userBase} in ${search.ms} ms` },
    );
  }

  if (!deps.api) {
    results.push({ name: 'Paperless API token', status: 'skip', detail: 'provisioning is off (GATEWAY_PROVISIONING=off)' });
    return results;
  }
  const who = await timed(() => (deps.api as PaperlessApi).whoami());
  if (who.error || !who.value) {
    results.push({ name: 'Paperless API token', status: 'fail', detail: message(who.error), fix: 'check GATEWAY_UPSTREAM_URL / GATEWAY_PAPERLESS_API_URL and GATEWAY_PAPERLESS_TOKEN' });
    return results;
  }
  const me = who.value;
  results.push(
    me.is_superuser
      ? { name: 'Paperless API token', status: 'ok', detail: `belongs to superuser ${me.username}` }
      : { name: 'Paperless API token', status: 'fail', detail: `belongs to ${me.username}, who is not a superuser`, fix: 'use the token of a Paperless superuser: only they may set admin flags' },
  );
  results.push(mappingCheck(config.provisioning.mapping, me.version, (deps.api as PaperlessApi).apiVersion));
  if (grantsNothing(config.provisioning.mapping)) {
    results.push({
      name: 'provisioning mapping',
      status: 'warn',
      detail: 'the mapping (GATEWAY_PROVISIONING_FILE) grants no permission and no admin group: nobody will see a document or administer Paperless',
      fix: 'write the mapping (README: "Provisioning Paperless") or run init',
    });
  }

  const ui = await timed(() => asUser(config, '/', me.username));
  const api = await timed(() => asUser(config, '/api/profile/', me.username));
  results.push(pageLoginCheck(config.identity.remoteUserHeader, ui, api.value === 200));
  results.push(
    api.value === 200
      ? { name: 'Paperless remote-user API', status: 'ok', detail: 'app sign-in and Basic auth can work' }
      : {
          name: 'Paperless remote-user API',
          status: 'warn',
          detail: api.error ? message(api.error) : `Paperless answered ${api.value}: its API ignores the identity header`,
          fix: 'set PAPERLESS_ENABLE_HTTP_REMOTE_USER_API=true for app sign-in (POST /api/token/) and Basic auth',
        },
  );
  return results;
}

/**
 * Second factors live in Redis alone: without persistence a Redis restart loses them, and a
 * changed GATEWAY_MFA_KEY makes every stored one unreadable. Both are found out here, not at
 * the first sign-in after the fact.
 */
async function secondFactorChecks(redis: Redis, config: Config): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const info = await timed(() => redis.info('persistence'));
  const aof = /^aof_enabled:(\d)/m.exec(info.value ?? '')?.[1];
  out.push(
    aof === '1'
      ? { name: 'Redis persistence', status: 'ok', detail: 'append-only file on: second factors survive a restart' }
      : {
          name: 'Redis persistence',
          status: 'warn',
          detail: info.error ? `cannot tell: ${message(info.error)}` : 'append-only file off: a Redis restart can lose every second factor',
          fix: 'run Redis with --appendonly yes (as compose.yaml does) and back up its data with GATEWAY_MFA_KEY',
        },
  );
  const keys = redisKeys(config.redis.keyPrefix);
  const sample = await timed(async () => {
    const [someone] = await redis.srandmember(keys.factorUsers, 1);
    if (someone === undefined) return 'no second factors stored yet';
    await new FactorStore(redis, keys, new MfaKeys(config.mfa.key as Buffer).seal).get(someone);
    return `the stored second factors open with it (tried ${someone}'s)`;
  });
  out.push(
    sample.error
      ? { name: 'GATEWAY_MFA_KEY', status: 'fail', detail: message(sample.error), fix: 'put back the GATEWAY_MFA_KEY the factors were stored with (every replica needs the same one)' }
      : { name: 'GATEWAY_MFA_KEY', status: 'ok', detail: sample.value ?? '' },
  );
  return out;
}

/**
 * Whether Paperless signs people in by the identity header for its pages. A page refused while
 * the API takes the same header is what PAPERLESS_AUDIT_LOG_ENABLED=false does (contract §9).
 */
function pageLoginCheck(header: string, ui: { value?: number; error?: unknown }, apiTakesHeader: boolean): CheckResult {
  const name = 'Paperless remote-user login';
  if (ui.value === 200) return { name, status: 'ok', detail: `Paperless accepts the ${header} header` };
  if (ui.error) return { name, status: 'fail', detail: message(ui.error), fix: 'check GATEWAY_UPSTREAM_URL' };
  const redirected = ui.value !== undefined && ui.value >= 300 && ui.value < 400;
  if (redirected && apiTakesHeader) {
    return {
      name,
      status: 'fail',
      detail: `Paperless sends a page carrying ${header} to its login page (${ui.value}), although its API takes the header`,
      fix: 'remove PAPERLESS_AUDIT_LOG_ENABLED=false from Paperless\'s settings (off, Paperless stops header login for pages), or set PAPERLESS_ENABLE_HTTP_REMOTE_USER=true if it is not',
    };
  }
  return {
    name,
    status: 'fail',
    detail: `Paperless answered ${ui.value} to a request carrying ${header}`,
    fix: 'set PAPERLESS_ENABLE_HTTP_REMOTE_USER=true (and PAPERLESS_HTTP_REMOTE_USER_HEADER_NAME to match GATEWAY_REMOTE_USER_HEADER); with it on, PAPERLESS_AUDIT_LOG_ENABLED=false also stops header login for pages: remove it',
  };
}

/** A directory that answered but does not fit a setting says which; anything else gets the general fix. */
function directoryFailure(name: string, err: unknown, generalFix: string): CheckResult {
  if (err instanceof DirectorySettingError) return { name, status: 'fail', detail: err.detail, fix: err.fix };
  return { name, status: 'fail', detail: message(err), fix: generalFix };
}

const MARK = { ok: '✔', warn: '!', fail: '✘', skip: '-' } as const;

export function formatChecks(results: CheckResult[]): string {
  return results.map((r) => `${MARK[r.status]} ${r.name}: ${r.detail}${r.fix ? `\n    fix: ${r.fix}` : ''}`).join('\n') + '\n';
}

/** Only the UI's own permissions, and no group that adds any or makes an admin. */
function grantsNothing(mapping: ProvisioningMapping): boolean {
  const ui = new Set<string>(UI_PERMISSIONS);
  return mapping.permissions.every((p) => ui.has(p)) && mapping.groups.every((g) => g.permissions.length === 0 && !g.superuser && !g.staff);
}

/** The Paperless line decides which permissions exist: the mapping must fit the one that answered. */
function mappingCheck(mapping: ProvisioningMapping, version: string | undefined, apiVersion: number): CheckResult {
  const name = 'Paperless version and mapping';
  const which = version ? `Paperless ${version}, API version ${apiVersion}` : `Paperless did not say its version (no X-Version header), taken as 2.x; API version ${apiVersion}`;
  try {
    mappingForLine(mapping, lineOf(version), version ?? 'of unknown version');
    return { name, status: 'ok', detail: `${which}; the mapping's permissions all exist there` };
  } catch (err) {
    return { name, status: 'fail', detail: `${which}: ${(err as Error).message}`, fix: 'name only permissions this Paperless has in GATEWAY_PROVISIONING_FILE (README: "Permissions by Paperless version")' };
  }
}

/**
 * GATEWAY_KERBEROS: the module loads, and GSSAPI takes the keytab as the acceptor of the service
 * principal (it holds a key of it), and the keytab's keys of it are of its realm and of a type
 * MIT decrypts with (keytab-entries.ts). Whether a browser's ticket is for that principal is not known
 * until one comes: README's troubleshooting covers the host name the browser used.
 */
export async function kerberosCheck(config: KerberosConfig): Promise<CheckResult> {
  const name = `Kerberos: ${config.servicePrincipal}`;
  let undo = () => {};
  try {
    undo = useKeytab(config);
    await new Negotiator(loadGssapi(), config.servicePrincipal, config.realms).check();
    const verdict = judgeKeytab(keytabBytes(config), config.servicePrincipal, config.realms[0] ?? '');
    if (verdict.status === 'ok') return { name, status: 'ok', detail: `${verdict.detail}; tickets of ${config.realms.join(', ')} are accepted` };
    return { name, status: verdict.status, detail: verdict.detail, fix: verdict.fix };
  } catch (err) {
    return {
      name,
      status: 'fail',
      detail: message(err),
      fix: `export ${config.servicePrincipal}'s keys into the keytab (ktpass, or samba-tool domain exportkeytab --principal=${config.servicePrincipal}), or set GATEWAY_KERBEROS_SERVICE_PRINCIPAL to the principal the keytab holds (klist -k)`,
    };
  } finally {
    undo();
  }
}
