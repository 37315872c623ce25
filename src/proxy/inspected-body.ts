import type { IncomingMessage } from 'node:http';

/** Why a body a step had to see was not read; each becomes a refusal the client can act on. */
export type BodyTrouble = 'too-large' | 'too-slow' | 'unreadable';

/**
 * Reads a small request body a step must see before the request is forwarded, then puts exactly
 * those bytes back at the front of the request stream: the forwarding core streams the request
 * as always and sends Paperless the bytes that were inspected, no other. At most `limitBytes`
 * (a larger announced length is refused before a byte is read) and within `timeoutMs` for the
 * whole body: a client trickling a byte at a time holds nothing longer than that.
 *
 * Bytes can be put back only while the stream has not emitted 'end', so the body counts as in
 * when the parser says the message is complete (`req.complete`), not on 'end'; a stream that
 * still has to end then ends after the forwarding core has read the bytes again.
 */
export function readAndPutBack(req: IncomingMessage, limitBytes: number, timeoutMs: number): Promise<Buffer | BodyTrouble> {
  const announced = req.headers['content-length'];
  if (announced !== undefined && !(Number(announced) <= limitBytes)) return Promise.resolve('too-large');
  // Already complete and nothing buffered (an empty chunked body): nothing to read or put back,
  // and a 'readable' listener would only make the stream end before anyone forwards it.
  if (req.complete && req.readableLength === 0) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = (outcome: Buffer | BodyTrouble) => {
      clearTimeout(timer);
      req.off('readable', readable);
      req.off('end', ended);
      req.off('error', broken);
      req.off('close', broken);
      // Synchronously, in the same turn as the last read: 'end' is emitted only from a later
      // tick, and only if the stream is still empty then.
      if (typeof outcome !== 'string' && outcome.length > 0) req.unshift(outcome);
      resolve(outcome);
    };
    const readable = () => {
      let chunk: Buffer | null;
      while ((chunk = req.read() as Buffer | null) !== null) {
        received += chunk.length;
        if (received > limitBytes) return stop('too-large');
        chunks.push(chunk);
      }
      if (req.complete) stop(Buffer.concat(chunks, received));
    };
    // Not expected (the body is in before 'end' can come): bytes read then could not be put back.
    const ended = () => stop('unreadable');
    const broken = () => stop('unreadable');
    const timer = setTimeout(() => stop('too-slow'), timeoutMs);
    req.on('readable', readable);
    req.once('end', ended);
    req.once('error', broken);
    req.once('close', broken);
  });
}
