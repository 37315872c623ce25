import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { PagesThreadData } from './pages-messages.js';

/**
 * Starting the pages thread, apart from the rest of its link (server/pages-link.ts): `serve`
 * starts the thread before it loads the gateway, so that the thread's modules load on one core
 * while the main thread's load on another. This module therefore imports next to nothing.
 */

/**
 * The thread's file, beside this module. Compiled (dist/, the image), it is started as it is.
 * From the sources through tsx (development, tests), the thread registers tsx first: tsx's
 * `--import` hooks do not reach worker threads (privatenumber/tsx#354).
 */
export function startThread(data: PagesThreadData): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./pages-thread.js', import.meta.url), { workerData: data });
  const thread = new URL('./pages-thread.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(thread)}); })`;
  return new Worker(code, { eval: true, workerData: data });
}

/** What the thread is started with: a fresh secret, and only the gateway's own settings (loadConfig reads no others). */
export function pagesThreadData(environment: Readonly<Record<string, string | undefined>>, terminal: boolean): PagesThreadData {
  return {
    secret: randomBytes(32).toString('base64url'),
    tty: terminal,
    environment: Object.fromEntries(Object.entries(environment).filter((e): e is [string, string] => e[0].startsWith('GATEWAY_') && typeof e[1] === 'string')),
  };
}

/**
 * Whether this process will serve by itself, judged before the settings are parsed (loading
 * their checks alone takes a few hundred milliseconds): a cluster's worker, or GATEWAY_WORKERS
 * left at one. Any other value is left to the parsed settings, and the gateway then starts its
 * pages thread itself, as a gateway run in-process does.
 */
export function servesAlone(isClusterWorker: boolean, environment: Readonly<Record<string, string | undefined>>): boolean {
  const workers = environment.GATEWAY_WORKERS;
  return isClusterWorker || workers === undefined || workers.trim() === '1';
}

/** What the thread did before anyone listened, in order. */
export type ThreadEvent = { kind: 'message'; message: unknown } | { kind: 'error'; error: Error } | { kind: 'exit'; code: number };

/**
 * A pages thread started before the gateway is built. Until PagesLink adopts it, whatever it says
 * (log lines, 'ready' or 'failed', an error, its end) is kept, to be heard in order on adoption.
 */
export class EarlyPagesThread {
  readonly worker: Worker;
  /** performance.now() at the start: the start timeout counts from here, not from the adoption. */
  readonly startedAt = performance.now();
  private held: ThreadEvent[] = [];
  private readonly holdMessage = (message: unknown) => this.held.push({ kind: 'message', message });
  private readonly holdError = (error: Error) => this.held.push({ kind: 'error', error });
  private readonly holdExit = (code: number) => this.held.push({ kind: 'exit', code });

  constructor(readonly data: PagesThreadData) {
    this.worker = startThread(data);
    this.worker.on('message', this.holdMessage);
    this.worker.on('error', this.holdError);
    this.worker.on('exit', this.holdExit);
  }

  /**
   * Stops keeping: the caller attaches its own listeners in the same tick (no event can come in
   * between) and hears what this returns first.
   */
  handOver(): ThreadEvent[] {
    this.worker.off('message', this.holdMessage);
    this.worker.off('error', this.holdError);
    this.worker.off('exit', this.holdExit);
    const held = this.held;
    this.held = [];
    return held;
  }
}
