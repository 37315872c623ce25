import type { RedisClient } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';
import { emptyRecord, parseRecord, type FactorRecord } from './factor-record.js';
import { open, seal } from './sealed-box.js';

/** Sets the key only if it still holds what was read (empty string: did not exist). */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
  return 1
end
return 0`;

const ATTEMPTS = 8;

/** What a change decided: a new record to store, or none (nothing to write), and its result. */
export type Change<T> = { record: FactorRecord; result: T } | { result: T; record?: undefined };

/** Another writer kept changing the record: give up rather than overwrite them. */
export class FactorStoreBusyError extends Error {}

/**
 * Second factors in Redis, one sealed record per person. Every change is a compare-and-set
 * of the whole sealed value, so two requests spending the same TOTP code or recovery code
 * cannot both succeed, on one replica or many. Redis must persist (appendonly): a lost record
 * never downgrades anyone to password-only (see the enrolment rules), but it does lock people
 * out until they enrol again.
 */
export class FactorStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<RedisKeys, 'factors' | 'factorUsers'>,
    private readonly sealKey: Buffer,
  ) {}

  async get(username: string): Promise<FactorRecord | undefined> {
    const sealed = await this.redis.get(this.keys.factors(username));
    return sealed === null ? undefined : this.open(username, sealed);
  }

  /**
   * Applies `change` to the current record (a fresh empty one if there is none) and stores the
   * result, unless `change` returns undefined (nothing to write) or the record changed meanwhile,
   * in which case it runs again on the new one. Returns what `change` decided and the stored record.
   */
  async update<T>(username: string, change: (record: FactorRecord) => Change<T> | Promise<Change<T>>): Promise<T> {
    const key = this.keys.factors(username);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const before = await this.redis.get(key);
      const current = before === null ? emptyRecord() : this.open(username, before);
      const outcome = await change(structuredClone(current));
      if (!outcome.record) return outcome.result;
      const after = seal(this.sealKey, JSON.stringify(outcome.record), username);
      const written = await this.redis.eval(COMPARE_AND_SET, 1, key, before ?? '', after);
      if (written === 1) {
        await this.redis.sadd(this.keys.factorUsers, username);
        return outcome.result;
      }
    }
    throw new FactorStoreBusyError(`the second factors of ${username} kept changing; try again`);
  }

  /**
   * Forgets every factor of a person (`mfa reset`) and every device they had remembered; returns
   * whether they had a factor. The empty record stays, with a new generation.
   */
  reset(username: string): Promise<boolean> {
    return this.update(username, (record) => ({ record: emptyRecord(), result: record.totp !== undefined }));
  }

  /** Everyone with a record. */
  async usernames(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.factorUsers)).sort();
  }

  private open(username: string, sealed: string): FactorRecord {
    return parseRecord(open(this.sealKey, sealed, username));
  }
}
