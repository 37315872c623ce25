import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { normalizeUsername } from '../directory/username.js';
import type { RedisClient } from '../redis/client.js';
import { redisKeys } from '../redis/keys.js';
import { UserSessionIndex } from '../session/user-index.js';
import { describeBrowser } from '../web/account-sessions.js';
import { CommandUsageError } from './usage-error.js';

export const SESSIONS_USAGE = 'sessions list [USER] | sessions revoke USER';

const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** The admin's view of sessions: who is signed in where, and ending every session of one person. */
export async function sessionsCommand(args: string[], config: Config, redis: RedisClient, log: Logger): Promise<string> {
  const [action, name, ...rest] = args;
  const index = new UserSessionIndex(redis, redisKeys(config.redis.keyPrefix));
  if (action === 'list' && rest.length === 0) {
    const users = name === undefined ? await index.usernames() : [normalizeUsername(name)];
    const lines = [];
    for (const username of users) {
      for (const s of await index.summaries(username, config.session.idleTimeoutMs)) {
        lines.push([username, s.ip ?? '-', describeBrowser(s.userAgent) ?? '-', `${minute(s.createdAt)}`, `${minute(s.lastSeenAt)}`].join('\t'));
      }
    }
    return lines.length > 0 ? `${['USER\tADDRESS\tBROWSER\tSIGNED IN (UTC)\tLAST SEEN (UTC)', ...lines].join('\n')}\n` : 'No sessions.\n';
  }
  if (action !== 'revoke' || name === undefined || name === '' || rest.length > 0) throw new CommandUsageError(`usage: paperless-ldap-gateway ${SESSIONS_USAGE}`);
  const username = normalizeUsername(name);
  const ended = await index.revokeAll(username);
  log.warn({ event: 'session.revoked', username, sessions: ended.length, by: 'cli' }, 'sessions revoked');
  return `Signed ${username} out of ${ended.length} session${ended.length === 1 ? '' : 's'}; open websockets close on every replica.\n`;
}
