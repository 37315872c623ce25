import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { DirectoryRecheck } from '../session/recheck.js';
import type { SessionService } from '../session/sessions.js';
import { pathOf } from '../url-path.js';
import { clientAddress, type TrustFunction } from './client-address.js';
import { HTTP_AND_WEBSOCKET, runSteps, type Row, type Step } from './exchange.js';
import { createForwarder } from './forwarder.js';
import { createSteps } from './steps.js';
import type { Upstream } from './upstream.js';
import type { WebsocketRegistry } from './websockets.js';

export interface RequestPathDeps {
  identity: Config['identity'];
  sessionCookieName: string;
  publicUrl: URL;
  trust: TrustFunction;
  sessions: SessionService;
  recheck: DirectoryRecheck;
  upstream: Upstream;
  maxPerClient: number;
  websockets: WebsocketRegistry;
  /** Mobile apps and scripts: tokens and Basic credentials (built in api-clients.ts). */
  apiClients: Step;
  httpFailure: (err: unknown, req: IncomingMessage, res: ServerResponse) => void;
  /** Signs the marker of a Paperless that refused the identity header (header-login-refused.ts). */
  sessionSecret: string;
  log: Logger;
}

/**
 * Every proxied request and websocket upgrade runs down one table until a step decides
 * (anonymous share, token client, user by Basic, user by session, or a refusal, such as a
 * profile change setting a local Paperless password); the forwarder
 * then applies that decision's header and cookie policy. Headers are cleaned before any step
 * reads them.
 */
export function createRequestPath(deps: RequestPathDeps) {
  const ipOf = (req: IncomingMessage): string => clientAddress(req, deps.trust);
  const forwarder = createForwarder({ ...deps, ipOf });
  // Here rather than beside filterSetCookies' wiring: redirects are the forwarder's header policy alone.
  deps.upstream.filterRedirects(forwarder.redirected);
  const { noPaperlessSignIn, publicShares, loadSession, noLocalPasswords, requireLogin, checkOrigin, recheckAccount, signedIn } = createSteps({ ...deps, ipOf });
  const use = (step: Step, ...on: Row['on'][number][]): Row => ({ step, on: on.length > 0 ? on : HTTP_AND_WEBSOCKET });

  const table: Row[] = [
    use(noPaperlessSignIn, 'http'),
    use(publicShares, 'http'),
    use(loadSession),
    // Before the token and Basic clients decide: a token can change the profile too.
    use(noLocalPasswords, 'http'),
    use(deps.apiClients, 'http'),
    use(requireLogin),
    use(checkOrigin),
    use(recheckAccount),
    use(signedIn),
  ];

  const http = runSteps(table, 'http', forwarder.apply, forwarder.fail);
  const websocket = runSteps(table, 'websocket', forwarder.apply, forwarder.fail);

  return {
    http(req: IncomingMessage, res: ServerResponse): void {
      forwarder.strip(req);
      http({ req, path: pathOf(req.url), to: { kind: 'http', res } });
    },
    upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
      forwarder.strip(req);
      websocket({ req, path: pathOf(req.url), to: { kind: 'websocket', socket, head } });
    },
    /** The same header cleaning for requests handed to the gateway's own pages. */
    strip: forwarder.strip,
    /** The same header cleaning for the gateway's own pages (served by Express). */
    stripSpoofedHeaders: ((req, _res, next) => {
      forwarder.strip(req);
      next();
    }) satisfies RequestHandler,
    keepPaperlessSession: forwarder.keepPaperlessSession,
    ipOf,
  };
}
