import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { repliesAbout } from '../ops/pending-replies.js';
import { GatewayError } from '../errors.js';
import { hasBody } from '../proxy/exchange.js';
import { rejectUpgrade } from '../proxy/forwarder.js';
import { HttpCore } from '../proxy/http-core.js';
import type { PaperlessFacts, Provisioner } from '../provisioning/provisioner.js';
import { pathOf } from '../url-path.js';
import { PageBodyAbandonedError, readPageBody } from './page-body.js';
import { HOLD_HEADER, HOLD_LIMIT_MS, isMessage, PAGES_SECRET_HEADER, type FromPages, type PagesThreadData, type ToPages } from './pages-messages.js';
import { pagesThreadData, startThread, type EarlyPagesThread, type ThreadEvent } from './pages-start.js';

/** How long the thread may take to start (modules, Redis); past it the gateway does not start. */
const START_TIMEOUT_MS = 30_000;
/** A thread that ended unexpectedly is started again after this pause. */
const RESTART_DELAY_MS = 1000;
/** A page may wait on the directory and on Paperless, which have their own timeouts; this only ends a hung thread's requests. */
const PAGE_TIMEOUT_MS = 300_000;

export interface PagesLinkDeps {
  log: Logger;
  /** The request path's header cleaning, before the client's address is appended. */
  strip(req: IncomingMessage): void;
  /** The error page (503) when the thread is not there. */
  unavailable(req: IncomingMessage, res: ServerResponse, message: string): void;
  /** The error page for a request refused before it reaches the thread (408, 413). */
  refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string): void;
  /** GATEWAY_PAGES_CONNECTIONS: the connections to the thread; more requests wait in line. */
  connections: number;
  /** GATEWAY_PAGES_BODY_TIMEOUT: the whole time a page's request body may take to arrive. */
  bodyTimeoutMs: number;
  /** GATEWAY_SHUTDOWN_TIMEOUT: how long the thread's requests in flight may take at shutdown. */
  shutdownTimeoutMs: number;
  /** Provisioning: what either thread's provisioner learns from Paperless, the other adopts. */
  provisioner?: Pick<Provisioner, 'onLearnt' | 'adopt'>;
  /** The settings the thread reads (the main thread checked them); only the gateway's own cross. */
  environment: Readonly<Record<string, string | undefined>>;
  /** Where the thread's log lines go: the main thread's own output. */
  writeLine: (line: string) => void;
  /** Whether a person watches the output: then the thread prints readable lines itself. */
  terminal: boolean;
  /**
   * A thread `serve` started before it loaded the gateway, with the same settings: adopted by the
   * first start() instead of a new one, and its secret kept for every restart.
   */
  thread?: EarlyPagesThread;
}

/** The pages thread's registry, as seen from the main thread: asked for each scrape. */
class PagesRegistry extends Registry {
  constructor(private readonly ask: () => Promise<unknown[]>) {
    super();
  }

  override async getMetricsAsJSON(): ReturnType<Registry['getMetricsAsJSON']> {
    return (await this.ask()) as Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
  }
}

/**
 * The main thread's side of the pages thread (server/pages-thread.ts): starts it, hands it the
 * gateway's own page requests over loopback (undici, as proxied requests go to Paperless), starts
 * it again if it ends, and relays its log lines and metrics.
 */
export class PagesLink {
  /** What every start of the thread gets; its secret, carried by every request, makes the thread refuse anyone else on loopback. */
  private readonly data: PagesThreadData;
  /** The thread started before this link, until start() adopts it. */
  private early?: EarlyPagesThread;
  private readonly metricsReplies = repliesAbout<unknown[]>('the pages thread\'s metrics');
  private worker?: Worker;
  private core?: HttpCore<undefined>;
  private stopping = false;
  readonly registry = new PagesRegistry(() => this.metricsJson());

  /** What either thread's provisioner learnt from Paperless. */
  private facts?: PaperlessFacts;

  constructor(private readonly deps: PagesLinkDeps) {
    this.data = deps.thread?.data ?? pagesThreadData(deps.environment, deps.terminal);
    this.early = deps.thread;
    deps.provisioner?.onLearnt((facts) => {
      this.facts = facts;
      this.tell({ type: 'paperless-facts', facts });
    });
  }

  /** Resolves once the thread listens; rejects with its reason if it cannot start. */
  start(): Promise<void> {
    const early = this.early;
    this.early = undefined;
    return new Promise((resolve, reject) => {
      const worker = early?.worker ?? startThread(this.data);
      this.worker = worker;
      // An adopted thread has been starting since `serve` began: its time counts.
      const timeoutMs = early ? Math.max(0, START_TIMEOUT_MS - (performance.now() - early.startedAt)) : START_TIMEOUT_MS;
      const timer = setTimeout(() => {
        reject(new Error(`the pages thread did not start within ${START_TIMEOUT_MS / 1000} s`));
        void worker.terminate();
      }, timeoutMs);
      let started = false;
      const onMessage = (message: unknown) => {
        if (!isMessage<FromPages>(message)) return;
        if (message.type === 'ready') {
          started = true;
          clearTimeout(timer);
          this.core?.close().catch(() => undefined);
          this.core = this.connect(message.port);
          // A thread started (or restarted) after this one learnt from Paperless asks nothing again.
          if (this.facts) this.tell({ type: 'paperless-facts', facts: this.facts });
          resolve();
        } else if (message.type === 'failed') {
          clearTimeout(timer);
          reject(new Error(`the pages thread could not start: ${message.error}`));
        } else this.heard(message);
      };
      const onError = (err: Error) => {
        this.deps.log.error({ event: 'pages.error', err: err.stack ?? err.message }, 'the pages thread failed');
        if (!started) {
          clearTimeout(timer);
          reject(err);
        }
      };
      const onExit = (code: number) => {
        if (this.worker === worker) {
          this.worker = undefined;
          this.core?.close().catch(() => undefined);
          this.core = undefined;
        }
        this.metricsReplies.failAll('the pages thread ended');
        if (!started) {
          // Ended before it was ready without saying why: no reason to wait out the timeout.
          clearTimeout(timer);
          reject(new Error(`the pages thread ended (code ${code}) before it was ready`));
          return;
        }
        if (this.stopping) return;
        this.deps.log.error({ event: 'pages.exited', code }, `the pages thread ended (code ${code}); starting it again in ${RESTART_DELAY_MS / 1000} s`);
        this.restartAfter(RESTART_DELAY_MS);
      };
      // In one tick: what an adopted thread said before, then its listeners from now on.
      const held: ThreadEvent[] = early?.handOver() ?? [];
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      for (const event of held) {
        if (event.kind === 'message') onMessage(event.message);
        else if (event.kind === 'error') onError(event.error);
        else onExit(event.code);
      }
    });
  }

  /** Until it is back: each failed start waits twice as long before the next, up to a minute. */
  private restartAfter(delayMs: number): void {
    setTimeout(() => {
      if (this.stopping) return;
      this.start().then(
        () => this.deps.log.info({ event: 'pages.restarted' }, 'the pages thread is back'),
        (err: Error) => {
          const next = Math.min(delayMs * 2, 60_000);
          this.deps.log.error({ event: 'pages.restart_failed', err: err.message }, `the pages thread could not start again; trying again in ${next / 1000} s`);
          this.restartAfter(next);
        },
      );
    }, delayMs).unref();
  }

  private connect(port: number): HttpCore<undefined> {
    const { log } = this.deps;
    return new HttpCore<undefined>(new URL(`http://127.0.0.1:${port}`), { timeoutMs: PAGE_TIMEOUT_MS, connections: this.deps.connections }, {
      // The pages' own cookies (the gateway's session, CSRF): the browser gets every one.
      setCookies: (lines) => lines,
      failed: (err, req, to) => {
        log.error({ event: 'pages.unanswered', err: err.message }, 'the pages thread did not answer');
        const message = "The gateway's sign-in pages did not answer. Try again in a moment.";
        // The pages take no websockets; a handshake is refused all the same, not left hanging.
        if (to instanceof ServerResponse) this.deps.unavailable(req, to, message);
        else rejectUpgrade(to, 503, message);
      },
      clientLeft: (detail, req) => log.info({ event: 'client.left', detail, path: pathOf(req.url) }, 'client left before the page was sent'),
      finished: () => undefined,
      holdFor: (headers) => {
        const value = headers[HOLD_HEADER];
        if (value === undefined) return 0;
        delete headers[HOLD_HEADER];
        const ms = Number(value);
        return Number.isFinite(ms) && ms > 0 ? Math.min(ms, HOLD_LIMIT_MS) : 0;
      },
    });
  }

  private heard(message: FromPages): void {
    if (message.type === 'log') this.deps.writeLine(message.line);
    else if (message.type === 'closed') void this.worker?.terminate();
    else if (message.type === 'metrics-json-reply') this.metricsReplies.answer(message.id, message);
    else if (message.type === 'paperless-facts') {
      this.facts = message.facts;
      this.deps.provisioner?.adopt(message.facts);
    }
  }

  private tell(message: ToPages): void {
    this.worker?.postMessage(message);
  }

  private metricsJson(): Promise<unknown[]> {
    if (!this.worker) return Promise.resolve([]);
    return this.metricsReplies.ask((id) => this.tell({ type: 'metrics-json', id }));
  }

  /**
   * One of the gateway's own pages: to the thread, with the client's address appended as the
   * next hop. A body is read in full here first, under GATEWAY_PAGES_BODY_TIMEOUT: the
   * connections to the thread are shared by every address (behind a proxy without
   * GATEWAY_TRUST_PROXY a whole office is one), so none of them may wait on a client's pace.
   */
  forward(req: IncomingMessage, res: ServerResponse): void {
    const peer = req.socket.remoteAddress;
    if (!this.core) {
      this.deps.unavailable(req, res, 'The gateway\'s sign-in pages are starting. Try again in a moment.');
      return;
    }
    // A socket already closed has no address, and nobody to answer.
    if (peer === undefined) {
      res.destroy();
      return;
    }
    this.deps.strip(req);
    const headers = req.headers;
    const forwarded = headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwarded ? `${forwarded}, ${peer}` : peer;
    headers[PAGES_SECRET_HEADER] = this.data.secret;
    if (!hasBody(req)) {
      this.core.forward(req, res, undefined);
      return;
    }
    readPageBody(req, this.deps.bodyTimeoutMs).then(
      (body) => {
        // The thread may have been started again meanwhile: the connection of now.
        const core = this.core;
        if (res.destroyed) return;
        if (!core) this.deps.unavailable(req, res, 'The gateway\'s sign-in pages are starting. Try again in a moment.');
        else core.forwardRead(req, res, body, undefined);
      },
      (err: unknown) => {
        if (err instanceof PageBodyAbandonedError || res.destroyed) {
          res.destroy();
          return;
        }
        const known = err instanceof GatewayError;
        this.deps.log.warn({ event: 'pages.body_refused', err: err instanceof Error ? err.message : String(err), path: pathOf(req.url), ip: peer }, 'page request body refused');
        // The rest of the body is not read: the connection ends with the answer.
        res.shouldKeepAlive = false;
        res.setHeader('Connection', 'close');
        this.deps.refuse(req, res, known ? err.status : 400, known ? err.userMessage : 'The request could not be read.');
      },
    );
  }

  /** Ends the thread after its requests in flight (its own shutdown timeout). */
  async close(): Promise<void> {
    this.stopping = true;
    // Started early but never adopted (the gateway failed before it listened): nothing to hand over.
    if (this.early) void this.early.worker.terminate();
    this.early = undefined;
    const worker = this.worker;
    if (worker) {
      const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      this.tell({ type: 'close' });
      // A thread that hangs must not hold the shutdown: past its own timeout it is ended.
      const timer = setTimeout(() => void worker.terminate(), this.deps.shutdownTimeoutMs + 5000);
      await ended;
      clearTimeout(timer);
    }
    await this.core?.close();
  }
}
