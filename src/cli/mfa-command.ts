import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { EnrolmentLinks } from '../mfa/enrolment-links.js';
import { hasFactor } from '../mfa/factor-record.js';
import { FactorStore } from '../mfa/factor-store.js';
import { MfaKeys } from '../mfa/mfa-keys.js';
import type { RedisClient } from '../redis/client.js';
import { redisKeys } from '../redis/keys.js';
import { StepUpWindows } from '../session/step-up.js';
import { systemClock } from '../clock.js';
import { normalizeUsername } from '../directory/username.js';
import { CommandUsageError } from './usage-error.js';

export const MFA_USAGE = 'mfa issue USER | mfa reset USER | mfa list';

/**
 * The admin's side of second factors: an enrolment link for someone who must enrol and cannot
 * (a lost phone and no recovery codes, or a store that was lost), a reset, and a list. Each is
 * audited on stderr's log like the gateway's own events.
 */
export async function mfaCommand(args: string[], config: Config, redis: RedisClient, log: Logger): Promise<string> {
  const [action, name, ...rest] = args;
  if (config.mfa.mode === 'off' || !config.mfa.key) throw new CommandUsageError('second factors are off (GATEWAY_MFA=off); set GATEWAY_MFA and GATEWAY_MFA_KEY as the gateway has them');
  const keys = redisKeys(config.redis.keyPrefix);
  const mfaKeys = new MfaKeys(config.mfa.key);
  const store = new FactorStore(redis, keys, mfaKeys.seal);
  if (action === 'list' && name === undefined) {
    const lines = [];
    for (const username of await store.usernames()) {
      const record = await store.get(username);
      if (!record) continue;
      const passkeys = record.passkeys?.length ?? 0;
      const factors = [
        record.totp ? `authenticator app since ${new Date(record.totp.addedAt).toISOString().slice(0, 10)}` : undefined,
        passkeys > 0 ? `${passkeys} passkey${passkeys === 1 ? '' : 's'}` : undefined,
      ].filter(Boolean);
      const apps = record.appPasswords?.length ?? 0;
      lines.push(`${username}\t${factors.join(', ') || 'no factor'}\t${record.recoveryCodes.length} recovery codes left\t${apps} app password${apps === 1 ? '' : 's'}`);
    }
    return lines.length > 0 ? `${['USER\tFACTORS\tRECOVERY\tAPPS', ...lines].join('\n')}\n` : 'Nobody has a second factor yet.\n';
  }
  if ((action !== 'issue' && action !== 'reset') || name === undefined || name === '' || rest.length > 0) throw new CommandUsageError(`usage: paperless-ldap-gateway ${MFA_USAGE}`);
  const username = normalizeUsername(name);
  if (action === 'reset') {
    const had = await store.reset(username);
    // A session that confirmed it's them before the reset must confirm again.
    await new StepUpWindows(redis, keys, systemClock).endAllAfterChange(username, log);
    log.warn({ event: 'mfa.reset', username, hadFactor: had, by: 'cli' }, 'second factors reset');
    return had
      ? `Removed the second factors of ${username}; their remembered devices are forgotten. ${config.mfa.mode === 'required' ? `They need an enrolment link to sign in again: paperless-ldap-gateway mfa issue ${username}` : 'They sign in with their password until they set up a new one.'}\n`
      : `${username} had no second factor; remembered devices are forgotten all the same.\n`;
  }
  const links = new EnrolmentLinks(redis, keys, mfaKeys, config.mfa.enrolmentLinkTtlMs);
  const token = await links.issue(username);
  const record = await store.get(username);
  log.warn({ event: 'mfa.link_issued', username, by: 'cli' }, 'enrolment link issued');
  const url = new URL(`/accounts/login/?enrol=${token}`, config.server.publicUrl);
  const hours = Math.round(config.mfa.enrolmentLinkTtlMs / 3_600_000);
  return [
    `Enrolment link for ${username} (works once, for ${hours} hours):`,
    url.href,
    hasFactor(record) ? `Note: ${username} already has an authenticator app; the link only helps after \`mfa reset ${username}\`.` : 'Give it to them over a channel you trust; they sign in with their password and set up an authenticator app.',
    '',
  ].join('\n');
}
