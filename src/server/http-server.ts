import http from 'node:http';
import { KERBEROS_HEADER_BYTES } from '../kerberos/negotiate.js';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { echoRequestId, requestIdAndAccessLog } from '../ops/access-log.js';
import { isPublicMetricsRequest } from '../ops/health.js';
import { hasBody } from '../proxy/exchange.js';
import { rejectUpgrade } from '../proxy/forwarder.js';
import { sendError } from '../web/error-responses.js';
import type { Pages } from '../web/pages.js';
import type { PagesLink } from './pages-link.js';
import { canonicalize, isGatewayRoute, type ProxiedPath } from './routes.js';

/**
 * The public listener: client timeouts, the target parsed once, then the split between the
 * gateway's own pages (the pages thread) and the request path, for requests and websocket upgrades.
 */
export function createHttpServer(
  config: Config,
  requestPath: ProxiedPath['requestPath'],
  pagesLink: PagesLink,
  pages: Pages,
  requestLog: Logger,
  metrics: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): http.Server {
  const accessLog = requestIdAndAccessLog(requestLog, config.log.requests);
  // Node checks the header deadline on this interval (30 s by default, which would make a 20 s limit 50 s).
  const checkEvery = Math.min(30_000, Math.max(250, Math.floor(config.client.headerTimeoutMs / 4)));
  // A Kerberos ticket of someone in many groups runs past Node's 16 KiB of headers.
  const server = http.createServer({ connectionsCheckingInterval: checkEvery, ...(config.kerberos ? { maxHeaderSize: KERBEROS_HEADER_BYTES } : {}) }, (req, res) => {
    accessLog(req, res);
    stallGuard(req, config.client.bodyIdleTimeoutMs);
    if (!canonicalize(req)) {
      echoRequestId(req, res);
      sendError(pages, req, res, 400, 'The request could not be read.');
      return;
    }
    // The metrics are this thread's (and, in a cluster, the primary's to gather): a scrape is
    // answered here, not relayed to the pages thread and back.
    if (isPublicMetricsRequest(req)) {
      echoRequestId(req, res);
      metrics(req, res);
    }
    // Proxied requests never meet Express: it serves the gateway's own pages, in their own thread.
    else if (isGatewayRoute(req)) pagesLink.forward(req, res);
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
  return server;
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
