import type { ClusterNode, RedisOptions } from 'ioredis';

export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'sentinel'; sentinels: Array<{ host: string; port: number }>; name: string; db: number; password?: string; username?: string }
  | { kind: 'cluster'; nodes: ClusterNode[]; password?: string; username?: string };

function hosts(list: string, defaultPort: number): Array<{ host: string; port: number }> {
  return list.split(',').map((h) => {
    const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(h.trim());
    if (!m?.[1]) throw new Error(`"${h}" is not host:port`);
    return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
  });
}

/**
 * GATEWAY_REDIS_URL in its three forms:
 *   redis://[user:password@]host:port/db   (or rediss:// for TLS)
 *   redis+sentinel://[user:password@]sentinel1:26379,sentinel2:26379/mastername[/db]
 *   redis+cluster://[user:password@]node1:6379,node2:6379
 * Throws with what is wrong; the config schema reports it.
 */
export function parseRedisUrl(text: string): RedisTarget {
  const m = /^(rediss?|redis\+sentinel|redis\+cluster):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(\/[^?#]*)?$/.exec(text.trim());
  if (!m) throw new Error('must be redis://host:port/db, rediss://…, redis+sentinel://sentinel:26379,…/mastername or redis+cluster://node:6379,…');
  const [, scheme, user, pass, hostList = '', path = ''] = m;
  const auth = {
    ...(pass ? { password: decodeURIComponent(pass) } : {}),
    ...(user ? { username: decodeURIComponent(user) } : {}),
  };
  if (scheme === 'redis' || scheme === 'rediss') {
    if (hostList.includes(',')) throw new Error('a redis:// URL names one server; use redis+sentinel:// or redis+cluster:// for several');
    return { kind: 'single', url: text.trim() };
  }
  if (scheme === 'redis+sentinel') {
    const [, name, db] = path.split('/');
    if (!name) throw new Error('redis+sentinel:// needs the master name as its path, e.g. redis+sentinel://sentinel:26379/mymaster');
    if (db !== undefined && !/^\d+$/.test(db)) throw new Error(`"${db}" is not a database number`);
    return { kind: 'sentinel', sentinels: hosts(hostList, 26379), name: decodeURIComponent(name), db: db ? Number(db) : 0, ...auth };
  }
  if (path && path !== '/') throw new Error('redis+cluster:// takes no database number (a cluster has only database 0)');
  return { kind: 'cluster', nodes: hosts(hostList, 6379), ...auth };
}

export type { RedisOptions };
