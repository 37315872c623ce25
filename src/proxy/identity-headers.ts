import type { IncomingHttpHeaders } from 'node:http';

/** Django's view of a header name: `Remote-User`, `remote_user` and `REMOTE-USER` are all HTTP_REMOTE_USER. */
export function djangoKey(headerName: string): string {
  return headerName.toUpperCase().replace(/-/g, '_');
}

/**
 * Deletes every header Paperless would read as the identity header, in any
 * spelling; Node keeps `remote-user` and `remote_user` as two keys, and Django
 * would join them. Returns how many were removed (a spoof attempt when > 0).
 */
export function stripIdentityHeaders(headers: IncomingHttpHeaders, headerName: string): number {
  return identityHeaderStripper(headerName)(headers);
}

/** stripIdentityHeaders for one configured header, its Django key built once rather than per request. */
export function identityHeaderStripper(headerName: string): (headers: IncomingHttpHeaders) => number {
  const wanted = djangoKey(headerName);
  return (headers) => {
    let removed = 0;
    for (const name in headers) {
      // The length test first: it rules out nearly every header without building a string.
      if (name.length === wanted.length && djangoKey(name) === wanted) {
        delete headers[name];
        removed++;
      }
    }
    return removed;
  };
}

/**
 * Hop-by-hop headers a client names in `Connection` are for this hop only (RFC 9110 7.6.1):
 * a client could otherwise have a header the gateway sets dropped further along. `upgrade`
 * stays for websocket handshakes; `close` and `keep-alive` are options, not header names.
 */
export function dropConnectionNamedHeaders(headers: IncomingHttpHeaders, isUpgrade: boolean): void {
  const named = headers.connection;
  if (named === undefined) return;
  for (const token of named.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive' || (isUpgrade && name === 'upgrade') || name === 'connection') continue;
    delete headers[name];
  }
}

/** Forwarding headers the gateway alone decides; a client's own would let it pick its address or scheme. */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-real-ip'];

export function setForwardingHeaders(headers: IncomingHttpHeaders, client: { ip: string; proto: string; host: string | undefined }): void {
  for (const name of FORWARDING_HEADERS) delete headers[name];
  headers['x-forwarded-for'] = client.ip;
  headers['x-forwarded-proto'] = client.proto;
  if (client.host) headers['x-forwarded-host'] = client.host;
}
