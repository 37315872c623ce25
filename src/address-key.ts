import { isIPv6 } from 'node:net';

/**
 * The key under which one client's share is counted (bans per address, in-flight requests, token
 * look-ups). An IPv6 host holds a whole /64 (SLAAC and privacy addresses give it as many as it
 * likes), so keyed by its full address one host could take a new share at every request: it is
 * keyed by its /64. An IPv4-mapped IPv6 address is its IPv4 address; anything else is itself.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  const bare = ip.split('%')[0] as string;
  if (!isIPv6(bare)) return ip;
  const [head = '', tail] = bare.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const full = [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${full
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
