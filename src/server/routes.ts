import type http from 'node:http';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { opsRouter } from '../ops/health.js';
import { readinessChecks } from './readiness-checks.js';
import { PaperlessClient } from '../paperless/client.js';
import { PaperlessUserToken } from '../provisioning/user-token.js';
import { tokenCheck } from '../proxy/token-check.js';
import { createApiClientStep } from '../proxy/api-clients.js';
import { clientAddress } from '../proxy/client-address.js';
import { CredentialCache } from '../proxy/credential-cache.js';
import { TokenOwners } from '../proxy/token-owners.js';
import { paperlessAppLogout, paperlessLogout } from '../proxy/paperless-logout.js';
import { createRequestPath } from '../proxy/request-path.js';
import { canonicalTarget } from '../proxy/request-target.js';
import { pathOf } from '../url-path.js';
import { apiTokenRouter } from '../web/api-token.js';
import { brandRouter } from '../web/brand.js';
import { errorHandler } from '../web/error-responses.js';
import { LoginCsrf } from '../web/login-csrf.js';
import { loginRouter } from '../web/login.js';
import { accountRouter } from '../web/account.js';
import { completeSignIn } from '../web/complete-sign-in.js';
import { formGuard } from '../web/form-guard.js';
import { afterPassword } from '../web/after-password.js';
import { kerberosSignIn } from '../web/kerberos-sign-in.js';
import { passwordStep } from '../web/password-step.js';
import { canChangePasswords } from '../directory/password-change.js';
import { secondStepRouter } from '../web/second-step.js';
import { logoutRouter } from '../web/logout.js';
import { logoutKind } from '../web/logout-paths.js';
import type { Services } from './services.js';

const STATIC_DIR = fileURLToPath(new URL('../../views/static/', import.meta.url));

/** How long a token that Paperless accepted is believed without asking again (requests with a body only). */
const ACCEPTED_TOKEN_TTL_MS = 60_000;

/** How long the record of whose a token is lives after its last use (a token unused this long is asked about again). */
const TOKEN_OWNER_TTL_SECONDS = 30 * 24 * 3600;

/** Whose a token is, in Redis (shared by every replica and both threads). */
function tokenOwners(services: Services, paperless?: PaperlessClient): TokenOwners {
  return new TokenOwners({ redis: services.redis, keys: services.keys, ...(paperless ? { paperless } : {}), ttlSeconds: TOKEN_OWNER_TTL_SECONDS });
}

/** The person's own account page (second factors), answered by the gateway. */
function isAccountPage(path: string): boolean {
  return path === '/accounts/security' || path.startsWith('/accounts/security/');
}

/** The gateway's own pages that sign in and out (express-session runs there only). */
function isSessionPage(method: string | undefined, path: string): boolean {
  return path.startsWith('/accounts/login') || logoutKind(method, path) !== undefined;
}

/** Requests the gateway answers itself (Express); everything else goes straight down the request path. */
export function isGatewayRoute(req: http.IncomingMessage): boolean {
  const url = req.url ?? '/';
  const path = pathOf(url);
  return url.startsWith('/_gateway/') || isSessionPage(req.method, path) || isAccountPage(path) || (req.method === 'POST' && url.startsWith('/api/token'));
}

/** Every decision, the gateway's own routes included, reads the target Paperless would receive. */
export function canonicalize(req: http.IncomingMessage): boolean {
  const target = canonicalTarget(req.url ?? '/');
  if (target === undefined) return false;
  req.url = target;
  return true;
}

/**
 * The request path: everything that is Paperless's (plain requests and websockets), with the
 * calls to Paperless the gateway makes for it. The proxying thread runs it; the pages thread
 * builds one too, for what its own routes do not answer.
 */
export function buildRequestPath(services: Services) {
  const { config, log, sessions, credentials, upstream, fail } = services;
  // The gateway's anonymous and per-request calls to Paperless (not provisioning's: those are counted).
  const paperless = new PaperlessClient({ url: config.upstream.url, timeoutMs: config.upstream.timeoutMs });
  // A password remembered longer than the re-check interval would outlive the person's removal from the directory.
  const apiCacheMs = Math.min(config.apiClients.basicCacheTtlMs, config.ldap.recheckIntervalMs);
  const basicCache = config.apiClients.basicAuth ? new CredentialCache<string>(apiCacheMs) : undefined;
  // A password changed through the gateway stops working for Basic at once, in every thread and replica, however it was typed;
  // after the channel was down (a message may be lost), everything is checked afresh. A ticket's
  // person, remembered on the API as a Basic check is, is forgotten alike (someone thought the password known).
  const forgetOnPasswordChange = (cache: CredentialCache<string>) => sessions.onPasswordChanged((username) => (username === undefined ? cache.clear() : cache.deleteWhere((person) => person === username)));
  if (basicCache) forgetOnPasswordChange(basicCache);
  const ticketPeople = services.negotiator ? new CredentialCache<string>(apiCacheMs) : undefined;
  if (ticketPeople) forgetOnPasswordChange(ticketPeople);
  const owners = tokenOwners(services, paperless);
  const { provisioner } = services;
  const recordPerson = (username: string): Promise<void> => owners.addPerson(username);
  // Someone let in, or confirmed, by the directory is a directory person: their tokens made in Paperless follow the directory too.
  const recordInBackground = (username: string): void => {
    recordPerson(username).catch((err: unknown) => log.warn({ event: 'token.person_not_recorded', username, err: String(err) }, 'could not record a directory person'));
  };
  credentials.onAdmitted(recordInBackground);
  services.recheck.onConfirmed(recordInBackground);
  /**
   * A directory person the gateway manages: one it provisioned, or one it let in (sign-in, app
   * sign-in, Basic). Never the API token's own user, a local account whatever the records say.
   */
  const isDirectoryPerson = async (username: string): Promise<boolean> => {
    if (provisioner) {
      // Unknown while Paperless cannot say and nobody learnt it: the lookup fails as Paperless did, and nothing is remembered.
      if (await provisioner.isTokenUser(username)) return false;
      if (await provisioner.provisioned(username)) return true;
    }
    return owners.isPerson(username);
  };
  // GATEWAY_KERBEROS: `Authorization: Negotiate` on the API, under Basic's rules.
  const { negotiator } = services;
  const requestPath = createRequestPath({
    identity: config.identity,
    sessionCookieName: config.session.cookieName,
    publicUrl: config.server.publicUrl,
    trust: services.trust,
    sessions,
    recheck: services.recheck,
    upstream,
    maxPerClient: config.upstream.maxPerClient,
    websockets: services.websockets,
    apiClients: createApiClientStep({
      verify: (username, password, ip) => credentials.verify(username, password, ip, 'basic'),
      ...(basicCache ? { basicCache } : {}),
      ...(negotiator && ticketPeople ? { negotiate: { accept: (token: string, ip: string) => negotiator.accept(token, ip), verify: (username: string, realm: string, ip: string) => credentials.verifyTicket(username, realm, ip), people: ticketPeople } } : {}),
      tokenValid: tokenCheck(paperless),
      tokenCache: new CredentialCache<true>(ACCEPTED_TOKEN_TTL_MS),
      tokenOwners: owners,
      tokenPeople: new CredentialCache<{ username: string | null }>(config.ldap.recheckIntervalMs),
      isDirectoryPerson,
      recheck: services.recheck,
      publicUrl: config.server.publicUrl,
      ipOf: (req) => clientAddress(req, services.trust),
      log,
    }),
    httpFailure: fail,
    sessionSecret: config.session.secret,
    log,
  });
  upstream.filterSetCookies(requestPath.keepPaperlessSession);
  return {
    requestPath,
    paperless,
    close: () => paperless.close(),
  };
}

export type ProxiedPath = ReturnType<typeof buildRequestPath>;

/**
 * The gateway's own pages on Express (sign-in, sign-out, account, app sign-in, health, readiness,
 * static files). They run in a thread of their own (server/pages-thread.ts): see
 * CONTRIBUTING.md, "Two threads in each process", for why Express stays out of the proxying thread.
 */
export function buildPages(services: Services, proxied: ProxiedPath) {
  const { config, log, sessions, credentials, pages, fail } = services;
  const { requestPath, paperless } = proxied;
  const tokens = new PaperlessUserToken({ apiUrl: config.upstream.url, headerName: config.identity.remoteUserHeader, timeoutMs: config.provisioning.timeoutMs });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', services.trust);
  app.set('etag', false);

  app.use(requestPath.stripSpoofedHeaders);
  app.use(
    opsRouter({
      checks: readinessChecks({ redis: services.redis, redisUrl: config.redis.url, directory: services.directory, ...(services.paperlessApi ? { paperlessApi: services.paperlessApi } : {}), paperless }),
      ...(config.ops.metricsToken ? { metricsToken: config.ops.metricsToken } : {}),
      timeoutMs: 5000,
    }),
  );
  app.use(brandRouter(config.web.brand));
  app.use('/_gateway/static', express.static(STATIC_DIR, { maxAge: '1h', fallthrough: false }));
  app.use(
    apiTokenRouter({
      credentials,
      tokens,
      owners: tokenOwners(services),
      log,
    }),
  );
  // express-session only where the gateway itself reads or writes the session; proxied requests use the lean lookup.
  app.use((req, res, next) => (isSessionPage(req.method, req.path) ? sessions.middleware(req, res, next) : next()));
  const csrf = new LoginCsrf(config.session.secret);
  const guard = formGuard({ csrf, cookieName: `${config.session.cookieName}_csrf`, secureCookie: config.session.secureCookie, publicUrl: config.server.publicUrl });
  const complete = completeSignIn({
    credentials,
    sessions,
    ...(config.web.rememberMeMs ? { rememberMeMs: config.web.rememberMeMs } : {}),
    ...(config.passwords.expiryWarningMs ? { expiryWarningMs: config.passwords.expiryWarningMs } : {}),
    log,
  });
  const { secondFactors, provisioner } = services;
  // AD over plain LDAP cannot take a new password: then neither the account page nor a sign-in offers a change.
  const passwordChange = canChangePasswords(config.ldap) ? services.passwordChange : undefined;
  const continueAfterPassword = afterPassword({
    ...(secondFactors ? { secondFactors } : {}),
    // Without provisioning nobody can tell a first sign-in (configuration refuses first-login then).
    firstSignIn: async (username) => (provisioner ? !(await provisioner.hasAccount(username)) : false),
    complete,
    sessions,
    deviceCookieName: `${config.session.cookieName}_device`,
    log,
  });
  // Without it, a sign-in that needs a new password ends with the directory's reason.
  const changeAtSignIn = passwordChange
    ? passwordStep({
        passwordChange,
        afterPassword: continueAfterPassword,
        sessions,
        signOutOthers: config.passwords.signOutOthers,
        guard,
        pages,
        sessionSecret: config.session.secret,
        log,
      })
    : undefined;
  app.use(
    loginRouter({
      credentials,
      afterPassword: continueAfterPassword,
      sessions,
      ...(changeAtSignIn ? { passwordStep: changeAtSignIn } : {}),
      guard,
      pages,
      publicUrl: config.server.publicUrl,
      rememberMe: config.web.rememberMeMs !== undefined,
      sessionSecret: config.session.secret,
      ...(services.negotiator && config.kerberos
        ? {
            kerberos: kerberosSignIn({
              negotiator: services.negotiator,
              credentials,
              afterPassword: continueAfterPassword,
              sessions,
              publicUrl: config.server.publicUrl,
              log,
            }),
          }
        : {}),
      log,
    }),
  );
  if (changeAtSignIn) app.use(changeAtSignIn.router);
  if (secondFactors) {
    app.use(
      secondStepRouter({
        secondFactors,
        complete,
        sessions,
        guard,
        pages,
        deviceCookie: { name: `${config.session.cookieName}_device`, secure: config.session.secureCookie, ...(config.mfa.rememberDeviceMs ? { maxAgeMs: config.mfa.rememberDeviceMs } : {}) },
        log,
      }),
    );
  }
  app.use(
    accountRouter({
      sessions,
      directory: services.directory,
      allowedGroups: config.ldap.allowedGroups,
      stepUp: services.stepUp,
      credentials,
      ...(secondFactors ? { secondFactors } : {}),
      ...(services.appPasswords ? { appPasswords: services.appPasswords } : {}),
      rotatePaperlessToken: (username) => tokens.rotate(username),
      ...(passwordChange ? { passwords: { change: passwordChange.change.bind(passwordChange), signOutOthers: config.passwords.signOutOthers } } : {}),
      csrf,
      pages,
      publicUrl: config.server.publicUrl,
      log,
    }),
  );
  app.use(
    logoutRouter({
      sessions,
      endPaperlessSession: paperlessLogout(paperless, log),
      endPaperlessAppSession: paperlessAppLogout(paperless, log),
      paperlessCookiePrefix: config.identity.paperlessCookiePrefix,
      gatewayCookieName: config.session.cookieName,
      secureCookie: config.session.secureCookie,
      publicUrl: config.server.publicUrl,
      kerberos: config.kerberos !== undefined,
      pages,
      log,
    }),
  );
  // What the gateway's own routes do not answer is Paperless's.
  app.use((req, res) => requestPath.http(req, res));
  app.use(errorHandler(fail));

  return {
    /** The gateway's own pages. */
    app,
    /** Closes the connections the pages' own calls to Paperless keep open. */
    close: () => tokens.close(),
  };
}
