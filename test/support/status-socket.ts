import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';

export interface SocketResult {
  /** The open socket, when the upgrade was accepted. */
  ws?: WebSocket;
  /** The headers of the handshake's answer (101, or a refusal). */
  headers?: IncomingHttpHeaders;
  /** The HTTP status of a refused upgrade. */
  status?: number;
  /** The body of a refused upgrade. */
  body?: string;
  /** Nothing answered the upgrade in time (granian 2.5.4 never answers a denied one). */
  timedOut?: boolean;
}

/**
 * Opens a websocket and settles once it is open or refused. Paperless's /ws/status/ says
 * nothing on connect (it only forwards status updates), so "open" is the only sign of success.
 */
export function openSocket(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<SocketResult> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    const timer = setTimeout(() => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      resolve({ timedOut: true });
    }, timeoutMs);
    const settle = (result: SocketResult) => {
      clearTimeout(timer);
      resolve(result);
    };
    let answer: IncomingHttpHeaders | undefined;
    ws.once('upgrade', (res) => (answer = res.headers));
    ws.once('open', () => settle({ ws, ...(answer ? { headers: answer } : {}) }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.once('end', () => {
        settle({ status: res.statusCode ?? 0, headers: res.headers, body });
        ws.terminate();
      });
      res.once('error', () => settle({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    ws.once('error', () => settle({}));
  });
}

/** The next message on a socket, parsed as JSON; rejects after `ms`. */
export function nextMessage(ws: WebSocket, ms = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no websocket message within ${ms} ms`)), ms);
    ws.once('message', (data: Buffer) => {
      clearTimeout(timer);
      resolve(JSON.parse(data.toString()));
    });
  });
}

/** Resolves true once the socket is closed, false if it is still open after `ms`. */
export function closedWithin(ws: WebSocket, ms = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
