import type { TrustFunction } from '../proxy/client-address.js';
import type { PaperlessFacts } from '../provisioning/provisioner.js';

/** What either thread's provisioner learnt from Paperless (the token's user, its versions), told to the other. */
export type FactsMessage = { type: 'paperless-facts'; facts: PaperlessFacts };

/**
 * What the proxying thread and the pages thread say to each other (server/pages-link.ts and
 * server/pages-thread.ts): one process, two isolates, so every exchange is a message.
 */
export type ToPages =
  | FactsMessage
  | { type: 'metrics-json'; id: number }
  | { type: 'metrics-text-reply'; id: number; value?: string; error?: string }
  | { type: 'close' };

export type FromPages =
  | FactsMessage
  | { type: 'ready'; port: number }
  | { type: 'failed'; error: string }
  | { type: 'log'; line: string }
  | { type: 'metrics-text'; id: number }
  | { type: 'metrics-json-reply'; id: number; value?: unknown[]; error?: string }
  | { type: 'forget-basic'; username: string; password: string }
  | { type: 'closed' };

export interface PagesThreadData {
  /** Proves a request came from the proxying thread: the pages listener is on loopback, where other local processes could reach it. */
  secret: string;
  /** Whether stdout is a terminal (a worker thread cannot tell): then the thread prints readable lines itself. */
  tty: boolean;
}

/** The request header that carries the secret; the proxying thread always replaces a client's own. */
export const PAGES_SECRET_HEADER = 'x-gateway-pages-secret';

export function isMessage<T extends { type: string }>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string';
}

/**
 * The pages thread's trust rule: the proxying thread appends the client's socket address to
 * X-Forwarded-For and is itself hop 0, so every further hop is judged as the proxying thread
 * would judge it one hop earlier: both threads compute the same client address.
 */
export function behindProxyingThread(trust: TrustFunction): TrustFunction {
  return (address, hop) => hop === 0 || trust(address, hop - 1);
}

/** Questions asked across the threads, each answered once by id or failed after a deadline. */
export class PendingReplies<T> {
  private readonly waiting = new Map<number, (reply: { value?: T; error?: string }) => void>();
  private nextId = 0;

  constructor(
    private readonly what: string,
    private readonly timeoutMs = 5000,
  ) {}

  /** `send` posts the question with its id. */
  ask(send: (id: number) => void): Promise<T> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.what}: no answer within ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        if (reply.value !== undefined) resolve(reply.value);
        else reject(new Error(`${this.what}: ${reply.error ?? 'no answer'}`));
      });
      send(id);
    });
  }

  answer(id: number, reply: { value?: T; error?: string }): void {
    this.waiting.get(id)?.(reply);
  }

  /** The other thread is gone: nothing will be answered. */
  failAll(error: string): void {
    for (const settle of [...this.waiting.values()]) settle({ error });
  }
}
