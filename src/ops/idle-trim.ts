import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { isMainThread } from 'node:worker_threads';

/** How busy a thread's event loop has been: milliseconds active, since the thread started. */
export type ActiveTime = () => number;

/**
 * When a thread counts as at rest, and how much it must have done since its last trim: a thread
 * that only runs its timers (sweeps, Redis pings: about 1 % of its time) is at rest, and is trimmed
 * again only once those timers have added up to real work.
 */
export interface IdleTrimPolicy {
  /** How often the thread looks at its own event loop. */
  everyMs: number;
  /** Looks in a row that must each find the loop busy less than `restBelow` of the time. */
  restfulLooks: number;
  /** A share of the time (0–1). */
  restBelow: number;
  /** Active milliseconds since the last trim (start-up included) before the next one is worth it. */
  workMs: number;
}

export const IDLE_TRIM: IdleTrimPolicy = { everyMs: 2500, restfulLooks: 2, restBelow: 0.05, workMs: 250 };

export interface Trimmed {
  /** How long the collection held the thread. */
  ms: number;
  rssBefore: number;
  rssAfter: number;
}

/**
 * Gives memory back when a thread has come to rest. Under load V8 grows a thread's young
 * generation (to tens of MiB on Node 24) and keeps it, and a full collection of its own accord
 * neither shrinks it nor runs while nothing allocates: an idle gateway sat on what its busiest
 * minute needed. A memory-reducing collection ("last resort", as V8 runs before giving up on an
 * allocation) shrinks the young generation and returns emptied pages; it holds the thread for
 * some tens of milliseconds, so it runs only when the thread has been at rest for a while and had
 * done real work before. Nothing on the request path pays for it: rest is read from the event
 * loop's own accounting.
 */
export class IdleTrim {
  private lastActive: number;
  private lastLook: number;
  private workSinceTrim: number;
  private restfulInRow = 0;

  constructor(
    private readonly collect: () => void,
    private readonly activeTime: ActiveTime = eventLoopActiveMs,
    private readonly now: () => number = () => performance.now(),
    private readonly policy: IdleTrimPolicy = IDLE_TRIM,
  ) {
    this.lastActive = activeTime();
    this.lastLook = now();
    // Start-up is work, if mostly before the event loop ran (so not in its accounting): a thread
    // that starts and then rests is trimmed once.
    this.workSinceTrim = policy.workMs;
  }

  /** One look; trims when the thread has rested long enough after enough work. */
  look(): Trimmed | undefined {
    const active = this.activeTime();
    const at = this.now();
    const busy = active - this.lastActive;
    const elapsed = at - this.lastLook;
    this.lastActive = active;
    this.lastLook = at;
    this.workSinceTrim += busy;
    this.restfulInRow = elapsed > 0 && busy < elapsed * this.policy.restBelow ? this.restfulInRow + 1 : 0;
    if (this.restfulInRow < this.policy.restfulLooks || this.workSinceTrim < this.policy.workMs) return undefined;
    const rssBefore = process.memoryUsage.rss();
    const started = this.now();
    this.collect();
    const ms = this.now() - started;
    // The collection's own time is not work that calls for another.
    this.lastActive = this.activeTime();
    this.lastLook = this.now();
    this.workSinceTrim = 0;
    this.restfulInRow = 0;
    return { ms, rssBefore, rssAfter: process.memoryUsage.rss() };
  }

  /** Looks every `everyMs` on an unref'd timer (it never holds a thread open); returns the stop. */
  start(onTrim: (trimmed: Trimmed) => void): () => void {
    const timer = setInterval(() => {
      const trimmed = this.look();
      if (trimmed) onTrim(trimmed);
    }, this.policy.everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/** This thread's event loop: milliseconds spent outside waiting for events, since it started. */
export function eventLoopActiveMs(): number {
  return performance.eventLoopUtilization().active;
}

type GcFunction = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * V8's memory-reducing full collection, for this thread. Node exposes collections only behind
 * `--expose-gc`, which would also put `gc` on every module's global; set for a moment, the flag
 * gives one fresh context its `gc` (which collects this thread's whole heap), and is unset again.
 * Node 20's V8 takes no 'last-resort' flavour and runs an ordinary full collection.
 */
export function memoryReducingCollection(): () => void {
  const given = (globalThis as { gc?: unknown }).gc;
  let gc: unknown = given;
  if (typeof gc !== 'function') {
    v8.setFlagsFromString('--expose-gc');
    try {
      gc = vm.runInNewContext('gc');
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  if (typeof gc !== 'function') throw new Error('V8 gave no gc function with --expose-gc');
  const collect = gc as GcFunction;
  return () => collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/** Trims this thread at rest for as long as it runs; a debug line says what each trim gave back. */
export function trimWhenIdle(log: { debug: (fields: Record<string, unknown>, message: string) => void }): () => void {
  return new IdleTrim(memoryReducingCollection()).start((t) =>
    log.debug({ event: 'memory.trimmed', thread: isMainThread ? 'proxying' : 'pages', ms: Math.round(t.ms), rssBeforeMiB: mib(t.rssBefore), rssAfterMiB: mib(t.rssAfter) }, 'at rest: memory given back'),
  );
}

function mib(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}
