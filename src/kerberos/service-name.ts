/**
 * GSSAPI's name for the service (`HTTP@host`, a host-based service name) from the principal as
 * admins write it (`HTTP/host` or `HTTP/host@REALM`, as in setspn and ktpass). The realm is left to
 * the keytab: the acceptor takes whichever of its keys the client's ticket was made for.
 */
export function gssServiceName(principal: string): string {
  const [service = '', rest = ''] = principal.split('/');
  const host = rest.split('@')[0] ?? '';
  return `${service}@${host.toLowerCase()}`;
}
