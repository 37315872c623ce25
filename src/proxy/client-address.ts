import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

export type TrustFunction = (address: string, hop: number) => boolean;

/**
 * One trust rule for every place that needs the client's address (express's
 * req.ip, websocket upgrades): X-Forwarded-For counts only from trusted hops.
 */
export function compileTrust(setting: false | number | string[]): TrustFunction {
  if (setting === false) return () => false;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return proxyaddr.compile(setting);
}

export function clientAddress(req: IncomingMessage, trust: TrustFunction): string {
  // Without X-Forwarded-For there is no hop to trust: the socket's peer, as proxy-addr would
  // answer, without building its list of addresses on every proxied request.
  if (!req.headers['x-forwarded-for']) return req.socket.remoteAddress ?? '';
  return proxyaddr(req, trust);
}
