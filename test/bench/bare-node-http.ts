import http from 'node:http';
import { announcesBody, answerHeaders, requestHeaders } from './bare-core-headers.js';

/**
 * The third candidate the issue named: a lean `node:http` path, no proxy library. Node's own
 * client with a keep-alive agent, hop-by-hop headers dropped, bodies piped both ways (with
 * `pipe`'s backpressure). http-proxy-3 is this plus its passes; undici replaced Node's client.
 */
const [target, port] = [new URL(process.argv[2] ?? ''), Number(process.argv[3] ?? 0)];
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const server = http.createServer((req, res) => {
  const headers = requestHeaders(req.headers);
  const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answerHeaders(answer.headers));
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  if (announcesBody(req.headers)) req.pipe(upstream);
  else upstream.end();
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
// An orderly exit, so that --cpu-prof writes its profile.
process.once('SIGTERM', () => process.exit(0));
