import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import { HOLD_HEADER } from './pages-messages.js';

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

  /** Outside a page request, or once the answer's head is out, it sleeps, as the padding always did. */
  wait(ms: number): Promise<void> {
    const current = this.answering.getStore();
    if (!current || current.res.headersSent) return new Promise((resolve) => setTimeout(resolve, ms));
    const now = performance.now();
    current.until = Math.max(current.until, now + ms);
    current.res.setHeader(HOLD_HEADER, String(Math.ceil(current.until - now)));
    return Promise.resolve();
  }
}
