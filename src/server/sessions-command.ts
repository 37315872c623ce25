import { Cluster } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { normalizeUsername } from '../directory/username.js';
import type { RedisClient } from '../redis/client.js';
import { redisKeys, type RedisKeys } from '../redis/keys.js';
import { revokeUserSessions } from '../session/revoke.js';
import { listUserSessions } from '../session/session-list.js';
import { describeBrowser } from '../web/account-sessions.js';
import { CommandUsageError } from './usage-error.js';

export const SESSIONS_USAGE = 'sessions list [USER] | sessions revoke USER';

/** Everyone with a session index: SCAN on each master (a Cluster spreads the keys over its nodes). */
async function usersWithSessions(redis: RedisClient, keys: RedisKeys): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const prefix = keys.userSessions('');
  const names = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', keys.userSessionsPattern, 'COUNT', 500);
      cursor = next;
      for (const key of found) names.add(key.slice(prefix.length));
    } while (cursor !== '0');
  }
  return [...names].sort();
}

const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** The admin's view of sessions: who is signed in where, and ending every session of one person. */
export async function sessionsCommand(args: string[], config: Config, redis: RedisClient, log: Logger): Promise<string> {
  const [action, name, ...rest] = args;
  const keys = redisKeys(config.redis.keyPrefix);
  if (action === 'list' && rest.length === 0) {
    const users = name === undefined ? await usersWithSessions(redis, keys) : [normalizeUsername(name)];
    const lines = [];
    for (const username of users) {
      for (const s of await listUserSessions(redis, keys, config.session, username)) {
        lines.push([username, s.ip ?? '-', describeBrowser(s.userAgent) ?? '-', `${minute(s.createdAt)}`, `${minute(s.lastSeenAt)}`].join('\t'));
      }
    }
    return lines.length > 0 ? `${['USER\tADDRESS\tBROWSER\tSIGNED IN (UTC)\tLAST SEEN (UTC)', ...lines].join('\n')}\n` : 'No sessions.\n';
  }
  if (action !== 'revoke' || name === undefined || name === '' || rest.length > 0) throw new CommandUsageError(`usage: paperless-ldap-gateway ${SESSIONS_USAGE}`);
  const username = normalizeUsername(name);
  const ended = await revokeUserSessions(redis, keys, config.session.maxLifetimeMs, username);
  log.warn({ event: 'session.revoked', username, sessions: ended.length, by: 'cli' }, 'sessions revoked');
  return `Signed ${username} out of ${ended.length} session${ended.length === 1 ? '' : 's'}; open websockets close on every replica.\n`;
}
