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
  | { type: 'close' };

export type FromPages =
  | FactsMessage
  | { type: 'ready'; port: number }
  | { type: 'failed'; error: string }
  | { type: 'log'; line: string }
  | { type: 'metrics-json-reply'; id: number; value?: unknown[]; error?: string }
  | { type: 'closed' };

export interface PagesThreadData {
  /** Proves a request came from the proxying thread: the pages listener is on loopback, where other local processes could reach it. */
  secret: string;
  /** Whether stdout is a terminal (a worker thread cannot tell): then the thread prints readable lines itself. */
  tty: boolean;
  /** The settings the main thread checked: the thread reads these, never its own process.env. */
  environment: Record<string, string>;
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

/**
 * The answer header by which the pages thread asks the proxying thread to hold an answer back
 * this many milliseconds (a refused sign-in's padding, see server/answer-hold.ts); never sent on.
 */
export const HOLD_HEADER = 'x-gateway-hold-ms';

/** The longest hold the proxying thread honours: a padding is a fraction of a second. */
export const HOLD_LIMIT_MS = 10_000;
