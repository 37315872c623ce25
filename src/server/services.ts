import http from 'node:http';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from 'pino';
import type { Metrics } from '../ops/metrics.js';
import type { Config } from '../config/config.js';
import type { Directory } from '../directory/directory.js';
import { PaperlessApi } from '../paperless/api.js';
import { Provisioner } from '../provisioning/provisioner.js';
import { refreshingAccountStatus } from '../provisioning/refreshing-account-status.js';
import { compileTrust, type TrustFunction } from '../proxy/client-address.js';
import { rejectUpgrade } from '../proxy/forwarder.js';
import { Upstream } from '../proxy/upstream.js';
import { SESSION_ENDED, WebsocketRegistry } from '../proxy/websockets.js';
import { Regulation } from '../auth/regulation.js';
import { ResponseTiming } from '../auth/response-timing.js';
import { loadGssapi } from '../kerberos/gssapi.js';
import { redisCall } from '../redis/errors.js';
import { Negotiator } from '../kerberos/negotiate.js';
import { ReservedUsernames } from '../auth/reserved-usernames.js';
import type { AccountStatus } from '../directory/account-status.js';
import { signInName } from '../directory/username.js';
import { createRedis, type RedisClient } from '../redis/client.js';
import { redisKeys, type RedisKeys } from '../redis/keys.js';
import { DirectoryRecheck } from '../session/recheck.js';
import { SessionService } from '../session/sessions.js';
import { pathOf } from '../url-path.js';
import { CredentialCheck } from '../auth/credential-check.js';
import { PasswordChange } from '../auth/password-change.js';
import { failureHandler, sendError, type FailureHandler } from '../web/error-responses.js';
import { I18n } from '../web/i18n.js';
import { Pages } from '../web/pages.js';
import { secondFactorsFor } from './second-factors.js';
import { StepUpWindows } from '../session/step-up.js';
import type { SecondFactors } from '../mfa/second-factors.js';
import type { AppPasswords } from '../mfa/app-passwords.js';

/** Everything the routes and the request path use, built once per process. */
export interface Services {
  config: Config;
  log: Logger;
  metrics: Metrics;
  directory: Directory;
  redis: RedisClient;
  /** Every Redis key name, under GATEWAY_REDIS_KEY_PREFIX. */
  keys: RedisKeys;
  /** A second connection: a subscribed ioredis client can do nothing else. */
  subscriber: RedisClient;
  sessions: SessionService;
  /** The account page's "confirm it's you" windows. */
  stepUp: StepUpWindows;
  pages: Pages;
  /** The error page for any failure on a request. */
  fail: FailureHandler;
  websockets: WebsocketRegistry;
  upstream: Upstream;
  /** Present when provisioning is on (it needs the API token). */
  paperlessApi?: PaperlessApi;
  provisioner?: Provisioner;
  recheck: DirectoryRecheck;
  credentials: CredentialCheck;
  /** Present unless GATEWAY_PASSWORD_CHANGE is off. */
  passwordChange?: PasswordChange;
  /** Present unless GATEWAY_MFA is off. */
  secondFactors?: SecondFactors;
  /** Present unless GATEWAY_MFA is off. */
  appPasswords?: AppPasswords;
  /** Present while GATEWAY_KERBEROS is on. */
  negotiator?: Negotiator;
  trust: TrustFunction;
}

/** What differs between the two threads' services. */
export interface ServiceOptions {
  /** Whose X-Forwarded-For counts; by default GATEWAY_TRUST_PROXY's rule (the pages thread puts the proxying thread in front of it). */
  trust?: TrustFunction;
  clock?: Clock;
  /** How a refused sign-in waits out its padding; by default a sleep (the pages thread holds its answer instead, see answer-hold.ts). */
  paddingWait?: (ms: number) => Promise<void>;
}

export function buildServices(config: Config, directory: Directory, log: Logger, metrics: Metrics, options: ServiceOptions = {}): Services {
  const trust = options.trust ?? compileTrust(config.server.trustProxy);
  const clock = options.clock ?? systemClock;
  const { kerberos } = config;
  const redis = createRedis(config.redis.url, log, 'sessions', metrics);
  const subscriber = createRedis(config.redis.url, log, 'session-events', metrics);
  const keys = redisKeys(config.redis.keyPrefix);
  const sessions = new SessionService(config.session, redis, subscriber, keys, log, clock);
  const pages = new Pages(config.web, new I18n(config.web.language));
  const websockets = new WebsocketRegistry(metrics);
  sessions.onEnded((sid) => websockets.closeSession(sid, SESSION_ENDED));

  const upstream = new Upstream(config.upstream, {
    unavailable: (error, req, res) => {
      log.warn({ err: error.message }, 'upstream unavailable');
      if (res instanceof http.ServerResponse) sendError(pages, req, res, error.status, error.userMessage);
      else rejectUpgrade(res, error.status, error.userMessage);
    },
    clientLeft: (detail, req) => log.info({ event: 'client.left', detail, path: pathOf(req.url) }, 'client left before Paperless answered'),
  }, metrics);

  const paperlessApi = config.provisioning.enabled ? new PaperlessApi(config.provisioning, metrics) : undefined;
  const provisioner = paperlessApi
    ? new Provisioner(paperlessApi, redis, keys, config.provisioning.mapping, log, { adoptLocalUsers: config.provisioning.adoptLocalUsers })
    : undefined;


  const stepUp = new StepUpWindows(redis, keys, clock);
  const endStepUps = (username: string) => stepUp.endAllAfterChange(username, log);
  const mfa = secondFactorsFor(config, redis, keys, metrics, log, endStepUps);

  const regulation = new Regulation(redis, keys, config.regulation);
  // Local Paperless accounts (the install's admin, compose's token user): header login would make
  // a directory user of the same name that account, and with provisioning off nothing else asks.
  const reservedUsernames = new ReservedUsernames(config.identity.reservedUsernames);
  const directoryStatus = refreshingAccountStatus(directory, config.ldap.allowedGroups, provisioner, log, { intervalMs: config.ldap.recheckIntervalMs });
  // A session or token of a reserved name from before the rule (or before the list changed) ends
  // at its next re-check; the local account itself is never touched.
  const recheckStatus = async (username: string): Promise<AccountStatus> =>
    reservedUsernames.has(username) ? { active: false, reason: 'a local Paperless account has this name (GATEWAY_RESERVED_USERNAMES)' } : directoryStatus(username);
  const recheck = new DirectoryRecheck(recheckStatus, config.ldap.recheckIntervalMs, sessions, log);
  // Directory users of these names could sign in before this rule: say so at every start.
  if (reservedUsernames.list().length > 0) {
    log.info({ event: 'startup.reserved_usernames', names: reservedUsernames.list() }, `directory users named ${reservedUsernames.list().join(', ')} are refused at sign-in: local Paperless accounts have these names (GATEWAY_RESERVED_USERNAMES)`);
  }
  const credentials = new CredentialCheck({
    directory,
    allowedGroups: config.ldap.allowedGroups,
    signInName: (typed) => signInName(config.ldap.preset, typed),
    reservedUsernames,
    caseInsensitivePrincipals: config.ldap.preset === 'activedirectory',
    ...(provisioner ? { provisioner } : {}),
    provisioningFailure: config.provisioning.failure,
    regulation,
    timing: new ResponseTiming(undefined, options.paddingWait ? { sleep: options.paddingWait } : {}),
    metrics,
    ...(mfa ? { passwordOnly: (user) => mfa.secondFactors.requirePasswordOnly(user), appPasswords: mfa.appPasswords } : {}),
    log,
  });

  const passwordChange = config.passwords.changeEnabled ? new PasswordChange({ directory, regulation, metrics, log, changed: (username) => Promise.all([sessions.announcePasswordChanged(username), endStepUps(username)]).then(() => undefined) }) : undefined;

  return {
    config,
    log,
    metrics,
    directory,
    redis,
    keys,
    subscriber,
    sessions,
    stepUp,
    pages,
    fail: failureHandler(pages, log),
    websockets,
    upstream,
    ...(paperlessApi ? { paperlessApi } : {}),
    ...(provisioner ? { provisioner } : {}),
    recheck,
    credentials,
    ...(passwordChange ? { passwordChange } : {}),
    ...(mfa ? { secondFactors: mfa.secondFactors, appPasswords: mfa.appPasswords } : {}),
    // Loaded only when on: an install without Kerberos's development files has no such module.
    // A token is good while its authenticator's time is within the skew of the gateway's, either
    // way: its record outlives that, with a minute for replicas' clocks.
    ...(kerberos
      ? { negotiator: new Negotiator(loadGssapi(), kerberos.servicePrincipal, kerberos.realms, async (hash) => (await redisCall('sessions', 'cannot record a Kerberos token', () => redis.set(keys.kerberosToken(hash), '1', 'PX', 2 * kerberos.clockSkewMs + 60_000, 'NX'))) === 'OK') }
      : {}),
    trust,
  };
}

/** Closes what buildServices opened: connections to Paperless, the directory and Redis, and the session cache. */
export async function closeServices(services: Services): Promise<void> {
  services.upstream.close();
  services.paperlessApi?.close();
  await services.directory.close();
  services.sessions.close();
  services.redis.disconnect();
  services.subscriber.disconnect();
}
