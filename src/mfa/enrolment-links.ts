import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';
import type { MfaKeys } from './mfa-keys.js';

/**
 * One-time links an admin hands a person (`mfa issue USER`) so they can enrol a second factor
 * when one is required and they have none. Only the token's keyed hash is stored.
 */
export class EnrolmentLinks {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<RedisKeys, 'enrolmentLink'>,
    private readonly mfaKeys: MfaKeys,
    private readonly ttlMs: number,
  ) {}

  /** A new token for `username`; earlier links of theirs stay valid until used or expired. */
  async issue(username: string): Promise<string> {
    const token = randomBytes(24).toString('base64url');
    await this.redis.set(this.key(token), username, 'PX', this.ttlMs);
    return token;
  }

  /** Whose link this is, without spending it. */
  async owner(token: string): Promise<string | undefined> {
    if (!/^[A-Za-z0-9_-]{32}$/.test(token)) return undefined;
    return (await this.redis.get(this.key(token))) ?? undefined;
  }

  /** Spends the link; true only for the one request that spent it. */
  async spend(token: string, username: string): Promise<boolean> {
    if (!/^[A-Za-z0-9_-]{32}$/.test(token)) return false;
    const owner = await this.redis.getdel(this.key(token));
    return owner === username;
  }

  private key(token: string): string {
    return this.keys.enrolmentLink(this.mfaKeys.hash('enrolment link', token));
  }
}
