import { WebSocket } from 'ws';

/** Opens `count` websockets, `batch` at a time (a thundering herd of 5,000 handshakes measures the kernel, not us). */
export async function openMany(url: string, count: number, headers: Record<string, string>, batch = 250): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, () => {
        const ws = new WebSocket(url, { headers, perMessageDeflate: false });
        return new Promise<WebSocket>((resolve, reject) => {
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
          ws.once('unexpected-response', (_req, res) => reject(new Error(`websocket refused: ${res.statusCode}`)));
        });
      }),
    );
    sockets.push(...opened);
  }
  return sockets;
}

/** Resolves with how many of the sockets received `message` before the deadline. */
export function receivedBy(sockets: WebSocket[], message: string, timeoutMs: number): { done: Promise<number> } {
  let received = 0;
  const done = new Promise<number>((resolve) => {
    const timer = setTimeout(() => resolve(received), timeoutMs);
    for (const ws of sockets) {
      const onMessage = (data: Buffer) => {
        if (data.toString() !== message) return;
        ws.off('message', onMessage);
        received += 1;
        if (received === sockets.length) {
          clearTimeout(timer);
          resolve(received);
        }
      };
      ws.on('message', onMessage);
    }
  });
  return { done };
}
