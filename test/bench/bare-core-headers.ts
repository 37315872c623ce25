import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and those a client library sets itself: what a bare core drops. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect']);

// Two copies of the same loop, one for requests and one for answers, as the gateway keeps its own
// (src/proxy/http-core.ts): a loop shared by both kinds of headers object sees two shapes, and the
// reference core must not run slower code than the gateway it is measured against.

/** A request's headers as a bare core passes them on: the hop's own left out. */
export function requestHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) if (!HOP.has(name)) out[name] = headers[name];
  return out;
}

/** An answer's headers as a bare core passes them on (see requestHeaders). */
export function answerHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) if (!HOP.has(name)) out[name] = headers[name];
  return out;
}

/** Whether a request announces a body, as HTTP/1.1 framing says: a length other than 0, or chunks. */
export function announcesBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
