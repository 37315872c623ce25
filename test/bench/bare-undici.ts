import http from 'node:http';
import { Pool } from 'undici';

/**
 * A bare proxy core on undici (`Pool.stream`): hop-by-hop headers dropped, bodies streamed both
 * ways. The gateway's own core is measured against it: what the gateway adds on top is its cost.
 */
const [target, port] = [process.argv[2] ?? '', Number(process.argv[3] ?? 0)];
const pool = new Pool(target, { connections: 256 });
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect']);
const server = http.createServer((req, res) => {
  const headers: Record<string, string | string[]> = {};
  for (const name in req.headers) if (!HOP.has(name)) headers[name] = req.headers[name] as string | string[];
  const length = req.headers['content-length'];
  const body = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0') ? req : null;
  pool.stream(
    { path: req.url ?? '/', method: (req.method ?? 'GET') as 'GET', headers, body },
    ({ statusCode, headers: answer }) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const name in answer) if (!HOP.has(name)) out[name] = answer[name];
      res.writeHead(statusCode, out);
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
