import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { pumpBytes } from './pump.js';

/**
 * The benchmark's fixed upstream, standing in for Paperless where its speed
 * would only add noise: a 1 KB JSON answer, a large download, an upload sink,
 * a websocket broadcaster, and the trivial "allow" endpoint forward-auth calls.
 */
const JSON_BODY = Buffer.from(JSON.stringify({ count: 1, next: null, previous: null, results: [{ id: 1, title: 'x'.repeat(900) }] }));

export function upstreamHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  if (url.startsWith('/bench/big')) {
    const bytes = Number(new URL(url, 'http://x').searchParams.get('bytes') ?? 1024);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes) });
    pumpBytes(res, bytes);
    return;
  }
  if (url.startsWith('/bench/upload')) {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes })));
    return;
  }
  if (url.startsWith('/auth')) {
    res.writeHead(200, { 'content-length': '0' }).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(JSON_BODY.length) });
  res.end(JSON_BODY);
}

export async function startUpstream(port = 0): Promise<{ server: http.Server; port: number; broadcast(message: string): number }> {
  const server = http.createServer(upstreamHandler);
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on('close', () => clients.delete(ws));
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : port,
    broadcast(message: string): number {
      for (const ws of clients) ws.send(message);
      return clients.size;
    },
  };
}

// As its own process (the benchmark runs the upstream apart from itself, like Paperless would be).
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  const port = Number(process.argv[2] ?? 0);
  const up = await startUpstream(port);
  // The benchmark asks for a broadcast over stdin; the answer says how many sockets it went to.
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (line: string) => {
    for (const message of line.split('\n').filter(Boolean)) process.stdout.write(`sent ${up.broadcast(message)}\n`);
  });
  process.stdout.write(`listening ${up.port}\n`);
}
