import http from 'node:http';
import { ProxyServer } from 'http-proxy-3';

/** http-proxy-3 alone, with the agent settings the gateway used with it: the candidate undici replaced. */
const [target, port] = [process.argv[2] ?? '', Number(process.argv[3] ?? 0)];
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: 60_000 });
const proxy = new ProxyServer({ target, agent, ws: true, xfwd: false, changeOrigin: false });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
});
const server = http.createServer((req, res) => void proxy.web(req, res));
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
