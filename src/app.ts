import http from 'node:http';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import type { Directory } from './directory/directory.js';
import type { Metrics } from './ops/metrics.js';
import { createRequestLogger } from './ops/logger.js';
import { startScheduledSync } from './provisioning/scheduled-sync.js';
import { startWebsocketSweep } from './proxy/websocket-sweep.js';
import { waitReady } from './redis/client.js';
import { createHttpServer } from './server/http-server.js';
import { buildRoutes } from './server/routes.js';
import { buildServices } from './server/services.js';
import { closeGracefully, listenOn } from './server/shutdown.js';

export interface Gateway {
  server: http.Server;
  /** Starts the background work (websocket sweep, scheduled sync) and the listeners. */
  listen(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The composition root: services (server/services.ts), routes (server/routes.ts) and the public
 * listener (server/http-server.ts). Nothing runs until `listen()`.
 */
export function createGateway(config: Config, directory: Directory, log: Logger, metrics: Metrics): Gateway {
  const services = buildServices(config, directory, log, metrics);
  const { redis, subscriber, sessions, websockets, upstream, provisioner } = services;
  const routes = buildRoutes(services);
  const requestLog = createRequestLogger(config.log.level);
  const server = createHttpServer(config, routes, services.pages, requestLog.log);
  const metricsServer = routes.metricsApp ? http.createServer(routes.metricsApp) : undefined;
  const stops: Array<() => void> = [];

  return {
    server,
    listen: async () => {
      metrics.collectProcessMetrics();
      routes.metrics.start();
      sessions.start();
      // Learn whose token this is and which Paperless answers (the mapping must fit its version)
      // before the first sign-in; a failure here is asked again at sign-in.
      provisioner?.lineMapping().then(
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
            { intervalMs: config.provisioning.syncIntervalMs, deprovision: config.provisioning.syncDeprovision, allowedGroups: config.ldap.allowedGroups, syncLock: services.keys.syncLock },
            log,
          ),
        );
      }
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
      for (const stop of stops) stop();
      const closing = closeGracefully(server, config.ops.shutdownTimeoutMs, log);
      // Browsers are told the server is going away (1001), so they reconnect to another replica.
      websockets.closeAll(1001);
      await closing;
      metricsServer?.close();
      metricsServer?.closeAllConnections();
      upstream.close();
      routes.close();
      services.paperlessApi?.close();
      await directory.close();
      sessions.close();
      redis.disconnect();
      subscriber.disconnect();
      requestLog.close();
    },
  };
}
