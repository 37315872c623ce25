import cluster from 'node:cluster';
import type { Clock } from './clock.js';
import http from 'node:http';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from './config/config.js';
import type { Directory } from './directory/directory.js';
import { LdapDirectory } from './directory/ldap-directory.js';
import { Metrics } from './ops/metrics.js';
import { createRequestLogger, logLineWriter } from './ops/logger.js';
import { startScheduledSync } from './provisioning/scheduled-sync.js';
import { startWebsocketSweep } from './proxy/websocket-sweep.js';
import { waitReady } from './redis/client.js';
import { createHttpServer } from './server/http-server.js';
import { ClusterMetrics } from './ops/cluster.js';
import { echoRequestId } from './ops/access-log.js';
import { metricsListener, publicMetrics } from './ops/health.js';
import { keytabBytes, useKeytab } from './kerberos/keytab.js';
import { judgeKeytab } from './kerberos/keytab-entries.js';
import { PagesLink } from './server/pages-link.js';
import type { EarlyPagesThread } from './server/pages-start.js';
import { buildRequestPath } from './server/routes.js';
import { sendError } from './web/error-responses.js';
import { buildServices, closeServices } from './server/services.js';
import { closeGracefully, listenOn } from './server/shutdown.js';
import { startupWarnings } from './server/startup-warnings.js';

/** What the gateway gets from whoever runs it: the process (main.ts) or a test, in-process. */
export interface GatewayRuntime {
  /** The settings as given (process.env, or a test's): the pages thread reads them again, never its own process.env. */
  environment: Readonly<Record<string, string | undefined>>;
  /** Where every log line goes, both threads' (stdout when absent). */
  logSink?: DestinationStream;
  /**
   * The pages thread, when `serve` started it before loading the gateway (with this environment
   * and no logSink), so both threads' modules loaded at once; absent, listen() starts it.
   */
  pagesThread?: EarlyPagesThread;
  /**
   * Time as the proxying thread's sessions see it (a test moves it past a session's end instead of
   * waiting); the pages thread, another isolate, always keeps the system's.
   */
  clock?: Clock;
}

export interface Gateway {
  server: http.Server;
  /** Starts the background work (websocket sweep, scheduled sync) and the listeners. */
  listen(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The composition root: services (server/services.ts), the request path (server/routes.ts), the
 * pages thread (server/pages-link.ts) and the public listener (server/http-server.ts). Nothing
 * runs until `listen()`.
 */
export function createGateway(config: Config, directory: Directory, log: Logger, metrics: Metrics, runtime: GatewayRuntime): Gateway {
  const services = buildServices(config, directory, log, metrics, { clock: runtime.clock });
  const { redis, sessions, websockets, provisioner } = services;
  const proxied = buildRequestPath(services);
  const requestLog = createRequestLogger(config.log.level, runtime.logSink);
  const pagesLink = new PagesLink({
    log,
    strip: proxied.requestPath.strip,
    unavailable: (req, res, message) => {
      echoRequestId(req, res);
      sendError(services.pages, req, res, 503, message);
    },
    refuse: (req, res, status, message) => {
      echoRequestId(req, res);
      sendError(services.pages, req, res, status, message);
    },
    connections: config.pages.connections,
    bodyTimeoutMs: config.pages.bodyTimeoutMs,
    shutdownTimeoutMs: config.ops.shutdownTimeoutMs,
    ...(provisioner ? { provisioner } : {}),
    environment: runtime.environment,
    writeLine: logLineWriter(runtime.logSink),
    terminal: runtime.logSink === undefined && process.stdout.isTTY === true,
    ...(runtime.pagesThread ? { thread: runtime.pagesThread } : {}),
  });
  // This thread's metrics and the pages thread's, as one process's.
  const clusterMetrics = new ClusterMetrics([metrics.registry, pagesLink.registry]);
  const server = createHttpServer(config, proxied.requestPath, pagesLink, services.pages, requestLog.log, publicMetrics(clusterMetrics, config.ops.metricsToken));
  const metricsServer = config.ops.metricsAddress ? http.createServer(metricsListener(clusterMetrics, config.ops.metricsToken)) : undefined;
  const stops: Array<() => void> = [];
  // GSSAPI's environment is undone last: requests still draining at close may be ticket sign-ins.
  let undoKeytab = () => {};

  return {
    server,
    listen: async () => {
      metrics.collectProcessMetrics();
      clusterMetrics.start();
      sessions.start();
      // GSSAPI's keytab and replay cache, for every thread, before a page is served; a keytab
      // without the service principal stops the start, naming the settings.
      if (config.kerberos) {
        undoKeytab = useKeytab(config.kerberos);
        const { kerberos } = config;
        await services.negotiator?.check().catch((err: unknown) => {
          throw new Error(`GATEWAY_KERBEROS_KEYTAB_FILE / GATEWAY_KERBEROS_SERVICE_PRINCIPAL: the keytab holds no key of ${kerberos.servicePrincipal} (${err instanceof Error ? err.message : String(err)}); check with klist -k`);
        });
        // Keys GSSAPI takes but cannot decrypt a ticket with (single DES, another realm) stop the start too.
        const verdict = judgeKeytab(keytabBytes(kerberos), kerberos.servicePrincipal, kerberos.realms[0] ?? '');
        if (verdict.status === 'fail') throw new Error(`GATEWAY_KERBEROS_KEYTAB_FILE / GATEWAY_KERBEROS_SERVICE_PRINCIPAL: ${verdict.detail}; check with klist -k -e`);
        if (verdict.status === 'warn') log.warn({ event: 'kerberos.keytab_weak' }, verdict.detail);
      }
      // Learn whose token this is and which Paperless answers (the mapping must fit its version)
      // before the first sign-in; a failure here is asked again at sign-in. The pages thread,
      // where sign-ins provision, adopts what this learns (server/pages-link.ts).
      const checked = provisioner?.lineMapping().then(
        () => log.info({ event: 'paperless.version', version: provisioner.api.paperlessVersion, apiVersion: provisioner.api.apiVersion }, 'Paperless reachable'),
        (err: unknown) => log.error({ event: 'paperless.check_failed', err: err instanceof Error ? err.message : String(err) }, 'Paperless check failed at startup'),
      );
      stops.push(startWebsocketSweep(websockets, sessions, config.session.idleTimeoutMs));
      if (provisioner && config.provisioning.syncIntervalMs) {
        stops.push(
          startScheduledSync(
            redis,
            directory,
            provisioner,
            (username) => sessions.revokeUser(username),
            { intervalMs: config.provisioning.syncIntervalMs, deprovision: config.provisioning.syncDeprovision, maxDeprovisionShare: config.provisioning.syncDeprovisionMaxShare, allowedGroups: config.ldap.allowedGroups, syncLock: services.keys.syncLock },
            log,
          ),
        );
      }
      // Give Redis a moment first, so the first requests do not meet a 503 from a connection still
      // being made; if it stays down, serve anyway (health works, pages say Redis is unavailable).
      await Promise.all([
        pagesLink.start(),
        waitReady(redis, 5000).catch(() => log.error({ event: 'redis.unavailable' }, 'Redis not reachable at startup; serving 503 until it is')),
        // A moment for the Paperless check too, so the first sign-ins need not ask again; a slow
        // or absent Paperless does not hold the start.
        Promise.race([checked, new Promise((resolve) => setTimeout(resolve, 2000).unref())]),
      ]);
      await listenOn(server, config.server.port, config.server.host);
      if (metricsServer && config.ops.metricsAddress) {
        await listenOn(metricsServer, config.ops.metricsAddress.port, config.ops.metricsAddress.host);
        log.info({ address: `${config.ops.metricsAddress.host}:${config.ops.metricsAddress.port}` }, 'metrics listening');
      }
    },
    close: async () => {
      for (const stop of stops) stop();
      const closing = closeGracefully(server, config.ops.shutdownTimeoutMs, log);
      // Browsers are told the server is going away (1001), so they reconnect to another replica.
      websockets.closeAll(1001);
      await closing;
      metricsServer?.close();
      metricsServer?.closeAllConnections();
      await pagesLink.close();
      proxied.close();
      await closeServices(services);
      undoKeytab();
      requestLog.close();
    },
  };
}

/**
 * `serve` without the process's own parts (signals, last-resort handlers, workers, the V8 cap):
 * main.ts starts the gateway through it, and so do the tests, in their own process.
 */
export async function serveGateway(config: Config, log: Logger, runtime: GatewayRuntime, listening: Record<string, unknown> = {}): Promise<Gateway> {
  // Once per gateway: a cluster's primary says it for its workers.
  if (!cluster.isWorker) startupWarnings(config, log);
  const metrics = new Metrics();
  const directory = new LdapDirectory(config.ldap, metrics);
  // A directory that is down at startup is logged, not fatal: logins say so until it answers.
  directory.check().then(
    () => log.info('directory reachable, service account accepted'),
    (err: Error) => log.error({ err: err.message }, 'directory check failed at startup'),
  );
  const gateway = createGateway(config, directory, log, metrics, runtime);
  try {
    await gateway.listen();
  } catch (err) {
    // The pages thread and the connections are up by now: a caller that goes on (an in-process
    // gateway, a test) must not keep them running for nothing.
    await gateway.close().catch(() => undefined);
    throw err;
  }
  log.info({ host: config.server.host, port: config.server.port, upstream: config.upstream.url.origin, publicUrl: config.server.publicUrl.origin, ...listening }, 'gateway listening');
  return gateway;
}
