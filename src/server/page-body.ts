import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';

/**
 * The most a page's request body may hold: the pages' own parsers take 16 KiB at most (sign-in,
 * second step, account forms, /api/token/); anything larger is no page's.
 */
export const PAGE_BODY_LIMIT_BYTES = 64 * 1024;

export class PageBodyTooLargeError extends GatewayError {
  readonly status = 413;
  constructor(bytes: number) {
    super(`page request body over ${PAGE_BODY_LIMIT_BYTES} bytes (${bytes} announced or received)`, 'This form sent more than the gateway accepts for its pages.');
  }
}

export class PageBodyTimeoutError extends GatewayError {
  readonly status = 408;
  constructor(timeoutMs: number) {
    super(`page request body not in within ${timeoutMs} ms`, `The form's data did not arrive within ${Math.ceil(timeoutMs / 1000)} seconds. Please send it again.`);
  }
}

/** The client went away (or its connection broke) before its body was in: nobody to answer. */
export class PageBodyAbandonedError extends Error {}

/**
 * Reads a request body for one of the gateway's own pages in full, in the proxying thread,
 * before the request takes a connection to the pages thread: a client dripping its body then
 * holds only its own socket and this buffer, never a connection every sign-in needs. The
 * deadline is for the whole body (a byte every few seconds would never trip an idle timeout).
 */
export function readPageBody(req: IncomingMessage, timeoutMs: number): Promise<Buffer> {
  const announced = req.headers['content-length'];
  if (announced !== undefined && Number(announced) > PAGE_BODY_LIMIT_BYTES) return Promise.reject(new PageBodyTooLargeError(Number(announced)));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = (err?: Error) => {
      clearTimeout(timer);
      req.off('data', data);
      req.off('end', end);
      req.off('error', broken);
      req.off('close', closed);
      if (err) {
        // Nothing more of it is wanted; the answer closes the connection.
        req.pause();
        reject(err);
      } else resolve(Buffer.concat(chunks, received));
    };
    const data = (chunk: Buffer) => {
      received += chunk.length;
      if (received > PAGE_BODY_LIMIT_BYTES) stop(new PageBodyTooLargeError(received));
      else chunks.push(chunk);
    };
    const end = () => stop();
    const broken = (err: Error) => stop(new PageBodyAbandonedError(err.message));
    const closed = () => stop(new PageBodyAbandonedError('the client left before its request body was in'));
    const timer = setTimeout(() => stop(new PageBodyTimeoutError(timeoutMs)), timeoutMs);
    req.on('data', data);
    req.once('end', end);
    req.once('error', broken);
    req.once('close', closed);
  });
}
