import WebSocket from 'ws';

export interface SocketResult {
  /** The open socket, when the upgrade was accepted. */
  ws?: WebSocket;
  /** The HTTP status of a refused upgrade. */
  status?: number;
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
    ws.once('open', () => settle({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      settle({ status: res.statusCode ?? 0 });
      ws.terminate();
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
