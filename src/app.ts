import http from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import type { Directory } from './directory/directory.js';
import { accountStatus } from './directory/account-status.js';
import { requestIdAndAccessLog } from './ops/access-log.js';
import { createRequestLogger } from './ops/logger.js';
import { metricsListener, opsRouter } from './ops/health.js';
import { PaperlessApi } from './provisioning/paperless-api.js';
import { Provisioner } from './provisioning/provisioner.js';
import { PaperlessUserToken } from './provisioning/user-token.js';
import { startScheduledSync } from './provisioning/scheduled-sync.js';
import { createApiClientStep } from './proxy/api-clients.js';
import { CredentialCache } from './proxy/credential-cache.js';
import { hasBody } from './proxy/exchange.js';
import { clientAddress, compileTrust } from './proxy/client-address.js';
import { rejectUpgrade } from './proxy/forwarder.js';
import { createRequestPath } from './proxy/request-path.js';
import { canonicalTarget } from './proxy/request-target.js';
import { pathOf } from './url-path.js';
import { Upstream } from './proxy/upstream.js';
import { SESSION_ENDED, WebsocketRegistry } from './proxy/websockets.js';
import { Regulation } from './regulation/regulation.js';
import { ResponseTiming } from './regulation/timing.js';
import { createRedis, waitReady } from './session/redis.js';
import { DirectoryRecheck } from './session/recheck.js';
import { SessionService } from './session/sessions.js';
import { apiTokenRouter } from './web/api-token.js';
import { CredentialCheck } from './web/credential-check.js';
import { errorHandler, failureHandler, sendError } from './web/error-responses.js';
import { LoginCsrf } from './web/login-csrf.js';
import { loginRouter } from './web/login.js';
import { logoutRouter } from './web/logout.js';
import { brandRouter } from './web/brand.js';
import { I18n } from './web/i18n.js';
import { Pages } from './web/pages.js';

export interface Gateway {
  server: http.Server;
  listen(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Paperless's other logouts (Django admin's, the browsable API's): they end only Paperless's
 * session, so the gateway answers them itself with a whole logout.
 */
const PAPERLESS_LOGOUTS = new Set(['/admin/logout/', '/api/auth/logout/']);

function isPaperlessLogout(method: string | undefined, path: string): boolean {
  return method === 'POST' && PAPERLESS_LOGOUTS.has(path);
}

/** The gateway's own pages that sign in and out (express-session runs there only). */
function isSessionPage(method: string | undefined, path: string): boolean {
  return path.startsWith('/accounts/login') || path.startsWith('/accounts/logout') || isPaperlessLogout(method, path);
}

/** Requests the gateway answers itself (Express); everything else goes straight down the proxy pipeline. */
function isGatewayRoute(req: http.IncomingMessage): boolean {
  const url = req.url ?? '/';
  return url.startsWith('/_gateway/') || isSessionPage(req.method, pathOf(url)) || (req.method === 'POST' && url.startsWith('/api/token'));
}

/** Every decision, the gateway's own routes included, reads the target Paperless would receive. */
function canonicalize(req: http.IncomingMessage): boolean {
  const target = canonicalTarget(req.url ?? '/');
  if (target === undefined) return false;
  req.url = target;
  return true;
}

const STATIC_DIR = fileURLToPath(new URL('../views/static/', import.meta.url));

/** How often open websockets are checked against their sessions' expiry: a quarter of the idle timeout, 250 ms to 15 s. */
function sweepInterval(idleTimeoutMs: number): number {
  return Math.min(15_000, Math.max(250, Math.floor(idleTimeoutMs / 4)));
}

export function createGateway(config: Config, directory: Directory, log: Logger): Gateway {
  const redis = createRedis(config.redis.url, log, 'sessions');
  const subscriber = createRedis(config.redis.url, log, 'session-events');
  const sessions = new SessionService(config.session, redis, subscriber, config.redis.keyPrefix, log);
  const pages = new Pages(config.web, new I18n(config.web.language));
  const websockets = new WebsocketRegistry();
  sessions.onEnded((sid) => websockets.closeSession(sid, SESSION_ENDED));

  const upstream = new Upstream(config.upstream, {
    unavailable: (error, req, res) => {
      log.warn({ err: error.message }, 'upstream unavailable');
      if (res instanceof http.ServerResponse) sendError(pages, req, res, error.status, error.userMessage);
      else rejectUpgrade(res, error.status, error.userMessage);
    },
    clientLeft: (detail, req) => log.info({ event: 'client.left', detail, path: pathOf(req.url) }, 'client left before Paperless answered'),
  });

  const provisioner = config.provisioning.enabled
    ? new Provisioner(new PaperlessApi(config.provisioning), redis, config.redis.keyPrefix, config.provisioning.mapping, log, { adoptLocalUsers: config.provisioning.adoptLocalUsers })
    : undefined;
  // Learn whose token this is before the first sign-in; a failure here is asked again at sign-in.
  provisioner?.tokenUsername().catch(() => undefined);
  const recheck = new DirectoryRecheck(
    async (username) => {
      const status = await accountStatus(directory, config.ldap.allowedGroups, username);
      // Keep Paperless in step with the directory too; free when nothing changed.
      if (status.active && provisioner) {
        await provisioner.provision(status.user).catch((err: unknown) => log.warn({ event: 'provisioning.failure', username, err: String(err) }, 'could not refresh Paperless user'));
      }
      return status;
    },
    config.ldap.recheckIntervalMs,
    sessions,
    log,
  );

  const credentials = new CredentialCheck({
    directory,
    allowedGroups: config.ldap.allowedGroups,
    ...(provisioner ? { provisioner } : {}),
    provisioningFailure: config.provisioning.failure,
    regulation: new Regulation(redis, config.redis.keyPrefix, config.regulation),
    timing: new ResponseTiming(),
    log,
  });

  const stopSync =
    provisioner && config.provisioning.syncIntervalMs
      ? startScheduledSync(
          redis,
          directory,
          provisioner,
          (username) => sessions.revokeUser(username),
          {
            intervalMs: config.provisioning.syncIntervalMs,
            deprovision: config.provisioning.syncDeprovision,
            allowedGroups: config.ldap.allowedGroups,
            keyPrefix: config.redis.keyPrefix,
          },
          log,
        )
      : undefined;

  const trust = compileTrust(config.server.trustProxy);
  const fail = failureHandler(pages, log);
  const requestPath = createRequestPath({
    identity: config.identity,
    sessionCookieName: config.session.cookieName,
    publicUrl: config.server.publicUrl,
    trust,
    sessions,
    recheck,
    upstream,
    maxPerClient: config.upstream.maxPerClient,
    websockets,
    apiClients: createApiClientStep({
      verify: (username, password, ip) => credentials.verify(username, password, ip, 'basic'),
      ...(config.apiClients.basicAuth ? { basicCache: new CredentialCache<string>(config.apiClients.basicCacheTtlMs) } : {}),
      tokenValid: (key) => upstream.tokenValid(key),
      tokenCache: new CredentialCache<true>(60_000),
      ipOf: (req) => clientAddress(req, trust),
      log,
    }),
    httpFailure: fail,
    log,
  });
  upstream.filterSetCookies(requestPath.keepPaperlessSession);

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trust);
  app.set('etag', false);

  app.use(requestPath.stripSpoofedHeaders);
  app.use(
    opsRouter({
      checks: {
        redis: () => redis.ping(),
        directory: () => directory.check(),
        // With a token, the API as provisioning uses it; without, any answer from Paperless will do.
        paperless: provisioner ? () => provisioner.api.whoami() : () => fetch(config.upstream.url, { method: 'HEAD', redirect: 'manual' }),
      },
      ...(config.ops.metricsToken ? { metricsToken: config.ops.metricsToken } : {}),
      timeoutMs: 5000,
    }),
  );
  app.use(brandRouter(config.web.brand));
  app.use('/_gateway/static', express.static(STATIC_DIR, { maxAge: '1h', fallthrough: false }));
  app.use(
    apiTokenRouter({
      credentials,
      tokens: new PaperlessUserToken({ apiUrl: config.upstream.url, headerName: config.identity.remoteUserHeader, timeoutMs: config.provisioning.timeoutMs }),
      log,
    }),
  );
  // express-session only where the gateway itself reads or writes the session; proxied requests use the lean lookup.
  app.use((req, res, next) => (isSessionPage(req.method, req.path) ? sessions.middleware(req, res, next) : next()));
  app.use(
    loginRouter({
      credentials,
      sessions,
      csrf: new LoginCsrf(config.session.secret),
      pages,
      publicUrl: config.server.publicUrl,
      secureCookie: config.session.secureCookie,
      csrfCookieName: `${config.session.cookieName}_csrf`,
      ...(config.web.rememberMeMs ? { rememberMeMs: config.web.rememberMeMs } : {}),
      log,
    }),
  );
  app.use(
    logoutRouter({
      sessions,
      endPaperlessSession: async (cookie, host) => {
        // No identity header: it would log the user straight back in.
        try {
          await upstream.request('/accounts/logout/', { cookie, ...(host ? { host } : {}) });
        } catch (err) {
          log.warn({ err: String(err) }, 'could not end the Paperless session at logout');
        }
      },
      paperlessCookiePrefix: config.identity.paperlessCookiePrefix,
      gatewayCookieName: config.session.cookieName,
      secureCookie: config.session.secureCookie,
      log,
    }),
  );
  // What the gateway's own routes do not answer is Paperless's.
  app.use((req, res) => requestPath.http(req, res));
  app.use(errorHandler(fail));

  const accessLog = requestIdAndAccessLog(createRequestLogger(config.log.level), config.log.requests);
  // Node checks the header deadline on this interval (30 s by default, which would make a 20 s limit 50 s).
  const checkEvery = Math.min(30_000, Math.max(250, Math.floor(config.client.headerTimeoutMs / 4)));
  const server = http.createServer({ connectionsCheckingInterval: checkEvery }, (req, res) => {
    accessLog(req, res);
    stallGuard(req, config.client.bodyIdleTimeoutMs);
    if (!canonicalize(req)) {
      sendError(pages, req, res, 400, 'The request could not be read.');
      return;
    }
    // Proxied requests skip Express entirely; it serves only the gateway's own pages.
    if (isGatewayRoute(req)) app(req, res);
    else requestPath.http(req, res);
  });
  // Uploads of any size stream through: no whole-request deadline, only one for the headers.
  server.requestTimeout = 0;
  server.headersTimeout = config.client.headerTimeoutMs;
  server.keepAliveTimeout = 65_000;
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!canonicalize(req)) {
      rejectUpgrade(socket, 400, 'The request could not be read.');
      return;
    }
    requestPath.upgrade(req, socket, head);
  });

  const sweep = setInterval(() => {
    const open = websockets.sessions();
    const now = Date.now();
    for (const { sid, endsAt } of open) if (now > endsAt) websockets.closeSession(sid, SESSION_ENDED);
    sessions
      .alive(open.map((o) => o.sid))
      .then((alive) => {
        for (const { sid } of open) if (!alive.has(sid)) websockets.closeSession(sid, SESSION_ENDED);
      })
      .catch(() => undefined); // Redis down: keep sockets until we can tell.
  }, sweepInterval(config.session.idleTimeoutMs));
  sweep.unref();

  const metricsServer = config.ops.metricsAddress ? http.createServer(metricsListener(config.ops.metricsToken)) : undefined;

  return {
    server,
    listen: async () => {
      // Give Redis a moment first, so the first requests do not meet a 503 from a connection still
      // being made; if it stays down, serve anyway (health works, pages say Redis is unavailable).
      await waitReady(redis, 5000).catch(() => log.error({ event: 'redis.unavailable' }, 'Redis not reachable at startup; serving 503 until it is'));
      await listenOn(server, config.server.port, config.server.host);
      if (metricsServer && config.ops.metricsAddress) {
        await listenOn(metricsServer, config.ops.metricsAddress.port, config.ops.metricsAddress.host);
        log.info({ address: `${config.ops.metricsAddress.host}:${config.ops.metricsAddress.port}` }, 'metrics listening');
      }
    },
    close: async () => {
      clearInterval(sweep);
      stopSync?.();
      // Stop accepting; requests in flight (a long upload) may finish within the shutdown timeout.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      websockets.closeAll(1001);
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), config.ops.shutdownTimeoutMs)));
      if (await Promise.race([closed.then(() => false), timedOut])) {
        log.warn({ event: 'shutdown.timeout' }, 'requests still running at the shutdown timeout; closing them');
        server.closeAllConnections();
        await closed;
      }
      clearInterval(idle);
      clearTimeout(timer);
      metricsServer?.close();
      metricsServer?.closeAllConnections();
      upstream.close();
      await directory.close();
      sessions.close();
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

function listenOn(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * A request body may take as long as it needs (uploads of any size), but may not stall: a client
 * that stops sending holds an upstream socket for nothing. The guard is off once the body is in.
 */
function stallGuard(req: http.IncomingMessage, idleMs: number): void {
  if (!hasBody(req)) return;
  const socket = req.socket;
  const stalled = () => socket.destroy(new Error(`request body stalled for ${idleMs} ms`));
  // Removed again when the body is in: keep-alive sockets carry many requests.
  const off = () => {
    socket.setTimeout(0);
    socket.off('timeout', stalled);
  };
  socket.setTimeout(idleMs);
  socket.on('timeout', stalled);
  req.once('end', off);
  req.once('close', off);
}
