import http from 'node:http';
import { Pool } from 'undici';
import { announcesBody, answerHeaders, requestHeaders } from './bare-core-headers.js';

/**
 * A bare proxy core on undici (`Pool.stream`): hop-by-hop headers dropped, bodies streamed both
 * ways. The gateway's own core is measured against it: what the gateway adds on top is its cost.
 */
const [target, port] = [process.argv[2] ?? '', Number(process.argv[3] ?? 0)];
const pool = new Pool(target, { connections: 256 });
const server = http.createServer((req, res) => {
  const headers = requestHeaders(req.headers) as Record<string, string | string[]>;
  const body = announcesBody(req.headers) ? req : null;
  pool.stream(
    { path: req.url ?? '/', method: (req.method ?? 'GET') as 'GET', headers, body },
    ({ statusCode, headers: answer }) => {
      res.writeHead(statusCode, answerHeaders(answer));
      return res;
    },
    (err) => {
      if (err && !res.headersSent) res.writeHead(502).end();
      else if (err) res.destroy();
    },
  );
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
// An orderly exit, so that --cpu-prof (BENCH_PROFILE) writes its profile.
process.once('SIGTERM', () => process.exit(0));
