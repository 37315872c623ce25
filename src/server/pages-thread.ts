import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { loadConfig } from '../config/load.js';
import { LdapDirectory } from '../directory/ldap-directory.js';
import { echoRequestId } from '../ops/access-log.js';
import { trimWhenIdle } from '../ops/idle-trim.js';
import { createLogger } from '../ops/logger.js';
import { Metrics } from '../ops/metrics.js';
import { compileTrust } from '../proxy/client-address.js';
import { waitReady } from '../redis/client.js';
import { sameSecret } from '../same-secret.js';
import { AnswerHolds } from './answer-hold.js';
import { KERBEROS_HEADER_BYTES } from '../kerberos/negotiate.js';
import { behindProxyingThread, isMessage, PAGES_SECRET_HEADER, type FromPages, type PagesThreadData, type ToPages } from './pages-messages.js';
import { buildPages, buildRequestPath } from './routes.js';
import { buildServices, closeServices } from './services.js';
import { closeGracefully, listenOn } from './shutdown.js';

/**
 * The gateway's own pages (sign-in, sign-out, account, health, readiness), in a thread of their
 * own. Express gives every request and response it serves a prototype and properties of its own;
 * in the proxying thread those objects made V8 re-optimize Node's shared HTTP functions for
 * several shapes, and every proxied request ran slower after the first sign-ins
 * (test/bench/HISTORY.md, "After heavy use"). Here they meet only each other. The proxying thread hands each page request
 * over loopback with a secret, and appends the client's address to X-Forwarded-For.
 */
async function run(port: MessagePort, data: PagesThreadData): Promise<void> {
  const send = (message: FromPages) => port.postMessage(message);
  // The configuration was checked by the main thread; this reads the settings it was handed.
  const config = loadConfig(data.environment);
  // On a terminal the main thread's lines are pretty-printed; this thread's must be too.
  const log = data.tty ? createLogger(config.log.level, 1, undefined, true) : createLogger(config.log.level, 1, { write: (line: string) => send({ type: 'log', line }) });
  // As in the main thread: one request's bug is logged, not a reason to drop everyone's sign-ins.
  process.on('unhandledRejection', (reason) => log.error({ err: reason instanceof Error ? reason.stack : String(reason) }, 'BUG: unhandled rejection in the pages thread; it keeps serving'));
  process.on('uncaughtException', (err) => log.error({ err: err.stack ?? err.message }, 'BUG: uncaught exception in the pages thread; it keeps serving'));
  const metrics = new Metrics();
  const holds = new AnswerHolds();
  const directory = new LdapDirectory(config.ldap, metrics);
  const services = buildServices(config, directory, log, metrics, { trust: behindProxyingThread(compileTrust(config.server.trustProxy)), paddingWait: (ms) => holds.wait(ms) });
  const proxied = buildRequestPath(services);
  const pages = buildPages(services, proxied);
  const server = http.createServer({ ...(config.kerberos ? { maxHeaderSize: KERBEROS_HEADER_BYTES } : {}) }, (req, res) => {
    if (!sameSecret(req.headers[PAGES_SECRET_HEADER], data.secret)) {
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Only the gateway itself talks to this listener.\n');
      return;
    }
    delete req.headers[PAGES_SECRET_HEADER];
    echoRequestId(req, res);
    holds.serve(res, () => pages.app(req, res));
  });
  // Longer than the proxying thread's pool keeps an idle connection, so it never sends on one being closed.
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0;

  services.provisioner?.onLearnt((facts) => send({ type: 'paperless-facts', facts }));
  port.on('message', (message: unknown) => {
    if (!isMessage<ToPages>(message)) return;
    if (message.type === 'paperless-facts') services.provisioner?.adopt(message.facts);
    else if (message.type === 'metrics-json') {
      metrics.registry.getMetricsAsJSON().then(
        // As plain JSON: prom-client's objects carry functions, which cannot cross to another thread.
        (value) => send({ type: 'metrics-json-reply', id: message.id, value: JSON.parse(JSON.stringify(value)) as unknown[] }),
        (err: Error) => send({ type: 'metrics-json-reply', id: message.id, error: err.message }),
      );
    } else if (message.type === 'close') {
      void close();
    }
  });

  let stopTrim = () => {};
  const close = async () => {
    stopTrim();
    await closeGracefully(server, config.ops.shutdownTimeoutMs, log);
    proxied.close();
    pages.close();
    await closeServices(services);
    // The main thread ends the thread on this (a timer or socket left behind must not keep it).
    send({ type: 'closed' });
  };

  services.sessions.start();
  await waitReady(services.redis, 5000).catch(() => undefined);
  // `exclusive`: in a GATEWAY_WORKERS process this thread would otherwise ask the cluster's
  // primary for a shared handle, over an IPC channel threads do not have.
  // Any free port, but never one the main thread is still to bind: it binds its own after this
  // thread is ready, and a configured port in the ephemeral range is free until then.
  const taken = new Set([config.server.port, ...(config.ops.metricsAddress ? [config.ops.metricsAddress.port] : [])]);
  let listening = 0;
  for (;;) {
    await listenOn(server, 0, '127.0.0.1', true);
    listening = (server.address() as AddressInfo).port;
    if (!taken.has(listening)) break;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  log.info({ event: 'pages.listening', port: listening }, 'pages thread listening on loopback');
  // Every pages thread, in-process gateways' too: it is an isolate of its own, and a test's
  // runner shares nothing with it.
  stopTrim = trimWhenIdle(log);
  send({ type: 'ready', port: listening });
}

if (!parentPort) throw new Error('server/pages-thread.js runs as the gateway\'s worker thread, not on its own');
const main = parentPort;
run(main, workerData as PagesThreadData).catch((err: unknown) => {
  // Before 'ready': the main thread reports it and does not start.
  main.postMessage({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FromPages);
  process.exit(1);
});
