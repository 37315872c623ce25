import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import { HOLD_HEADER, HOLD_LIMIT_MS } from './pages-messages.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The page request being answered, and until when (monotonic ms) its answer is to be held. */
interface Answering {
  res: ServerResponse;
  until: number;
}

/**
 * The pages thread's padding wait. A refused sign-in is padded so its answer takes as long as a
 * success; slept here, that time held one of the few connections from the proxying thread, and a
 * client sending many refused sign-ins at once held them all and queued everyone's sign-in page
 * behind its own. So the page is answered at once with HOLD_HEADER, and the proxying thread holds
 * the answer back, off the connection (server/pages-link.ts).
 */
export class AnswerHolds {
  private readonly answering = new AsyncLocalStorage<Answering>();

  /** Serves one page request so that a padding wait during it becomes a hold on its answer. */
  serve(res: ServerResponse, serve: () => void): void {
    this.answering.run({ res, until: 0 }, serve);
  }

  /**
   * Outside a page request, or once the answer's head is out, it sleeps, as the padding always did.
   * Past what the proxying thread holds (HOLD_LIMIT_MS) the rest is slept here: a directory slow
   * enough to need more must not make refusals quicker than successes.
   */
  wait(ms: number): Promise<void> {
    const current = this.answering.getStore();
    if (!current || current.res.headersSent) return sleep(ms);
    const now = performance.now();
    current.until = Math.max(current.until, now + ms);
    const left = Math.ceil(current.until - now);
    current.res.setHeader(HOLD_HEADER, String(Math.min(left, HOLD_LIMIT_MS)));
    return left > HOLD_LIMIT_MS ? sleep(left - HOLD_LIMIT_MS) : Promise.resolve();
  }
}
