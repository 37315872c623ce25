import http from 'node:http';
import { ProxyServer } from 'http-proxy-3';
import { UPSTREAM_AGENT_OPTIONS } from '../../src/proxy/upstream.js';

/** http-proxy-3 alone, with the gateway's agent settings: what the gateway would cost if its own steps were free. */
const [target, port] = [process.argv[2] ?? '', Number(process.argv[3] ?? 0)];
const agent = new http.Agent(UPSTREAM_AGENT_OPTIONS);
const proxy = new ProxyServer({ target, agent, ws: true, xfwd: false, changeOrigin: false });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
});
const server = http.createServer((req, res) => void proxy.web(req, res));
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
