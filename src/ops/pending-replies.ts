/** An answer to a question asked of another process or thread: a value, or why there is none. */
export interface Reply<T> {
  value?: T | undefined;
  error?: string | undefined;
}

/**
 * Questions asked of another process or thread (a cluster's primary, the pages thread), each
 * answered once by its id, or failed after a deadline: a peer that never answers must not leave
 * a scrape waiting.
 */
export class PendingReplies<T> {
  private readonly waiting = new Map<number, (reply: Reply<T>) => void>();
  private nextId = 0;

  /** `timedOut`: the error after the deadline; `failed`: the error for a reply without a value. */
  constructor(
    private readonly messages: { timedOut: string; failed: (error: string | undefined) => string },
    private readonly timeoutMs = 5000,
  ) {}

  /** `send` posts the question with its id. */
  ask(send: (id: number) => void): Promise<T> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(this.messages.timedOut));
      }, this.timeoutMs);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        if (reply.value !== undefined) resolve(reply.value);
        else reject(new Error(this.messages.failed(reply.error)));
      });
      send(id);
    });
  }

  answer(id: number, reply: Reply<T>): void {
    this.waiting.get(id)?.(reply);
  }

  /** The peer is gone: nothing will be answered. */
  failAll(error: string): void {
    for (const settle of [...this.waiting.values()]) settle({ error });
  }
}

/** Replies whose errors name what was asked for: "<what>: no answer within 5 s", "<what>: <the peer's error>". */
export function repliesAbout<T>(what: string, timeoutMs = 5000): PendingReplies<T> {
  return new PendingReplies<T>({ timedOut: `${what}: no answer within ${timeoutMs / 1000} s`, failed: (error) => `${what}: ${error ?? 'no answer'}` }, timeoutMs);
}
