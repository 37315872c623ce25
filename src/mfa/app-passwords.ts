import { randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import { redisCall } from '../redis/errors.js';
import type { AppPassword, FactorRecord } from './factor-record.js';
import type { Change, FactorStore } from './factor-store.js';
import type { MfaKeys } from './mfa-keys.js';

const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
const GROUPS = 5;
const MAX_PER_PERSON = 25;
const TOUCH_MS = 3_600_000;

/** A name that is empty, too long, taken, or one app password too many. */
export class AppPasswordRefusedError extends GatewayError {
  readonly status = 400;
}

/** What the account page lists (never the hash). */
export type AppPasswordInfo = Omit<AppPassword, 'hash'>;

function normalize(typed: string): string {
  return typed.toLowerCase().replace(/[\s-]/g, '');
}

/**
 * Named passwords for apps and scripts (`/api/token/`, Basic), which cannot answer a second step.
 * Each is 20 random characters (about 99 bits), shown once and kept as a keyed hash in the
 * person's sealed record, so it can be told from a directory password by its shape alone.
 */
export class AppPasswords {
  constructor(
    private readonly store: FactorStore,
    private readonly keys: Pick<MfaKeys, 'hash'>,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  /** Whether a typed password has an app password's shape (5 groups of 4, dashes and case free). */
  looksLike(typed: string): boolean {
    const value = normalize(typed);
    return value.length === GROUPS * 4 && [...value].every((c) => ALPHABET.includes(c));
  }

  async list(username: string): Promise<AppPasswordInfo[]> {
    const record = await redisCall('second factors', 'cannot read app passwords', () => this.store.get(username));
    return (record?.appPasswords ?? []).map(({ hash: _hash, ...info }) => info).sort((a, b) => b.createdAt - a.createdAt);
  }

  /** A new app password: the value is returned once and never stored. */
  async create(username: string, name: string): Promise<{ id: string; name: string; value: string }> {
    const trimmed = name.trim();
    if (trimmed === '' || trimmed.length > 60) throw new AppPasswordRefusedError(`app password name of ${trimmed.length} characters`, 'Give the app password a name of 1 to 60 characters, such as the app or the device it is for.');
    const chars = Array.from({ length: GROUPS * 4 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    const value = chars.match(/.{4}/g)?.join('-') ?? chars;
    const entry: AppPassword = { id: randomBytes(9).toString('base64url'), name: trimmed, hash: this.hash(value), createdAt: this.now() };
    await this.update(username, (record) => {
      const existing = record.appPasswords ?? [];
      if (existing.some((p) => p.name.toLowerCase() === trimmed.toLowerCase())) throw new AppPasswordRefusedError(`app password name ${trimmed} taken`, 'An app password of that name exists already. Pick another name.');
      if (existing.length >= MAX_PER_PERSON) throw new AppPasswordRefusedError('too many app passwords', 'You have 25 app passwords already. Revoke the ones you no longer use first.');
      return { record: { ...record, appPasswords: [...existing, entry] }, result: undefined };
    });
    this.log.info({ event: 'app_password.created', username, name: trimmed, id: entry.id }, 'app password created');
    return { id: entry.id, name: trimmed, value };
  }

  /** Removes one; returns it (to tell whether it had signed an app in), or undefined if unknown. */
  async revoke(username: string, id: string): Promise<AppPasswordInfo | undefined> {
    const removed = await this.update<AppPasswordInfo | undefined>(username, (record) => {
      const found = record.appPasswords?.find((p) => p.id === id);
      if (!found) return { result: undefined };
      const { hash: _hash, ...info } = found;
      return { record: { ...record, appPasswords: (record.appPasswords ?? []).filter((p) => p.id !== id) }, result: info };
    });
    if (removed) this.log.warn({ event: 'app_password.revoked', username, name: removed.name, id }, 'app password revoked');
    return removed;
  }

  /**
   * Whether `typed` is one of the person's app passwords; marks when it was last used (at most
   * hourly) and whether it signed an app in at /api/token/.
   */
  async matches(username: string, typed: string, via: 'api-token' | 'basic' | 'form'): Promise<boolean> {
    if (via === 'form' || !this.looksLike(typed)) return false;
    const hash = this.hash(typed);
    const record = await redisCall('second factors', 'cannot read app passwords', () => this.store.get(username));
    const found = record?.appPasswords?.find((p) => p.hash === hash);
    if (!found) return false;
    const now = this.now();
    if (now - (found.lastUsedAt ?? 0) >= TOUCH_MS || (via === 'api-token' && !found.signedInApp)) {
      await this.update(username, (current) => ({
        record: { ...current, appPasswords: (current.appPasswords ?? []).map((p) => (p.hash === hash ? { ...p, lastUsedAt: now, ...(via === 'api-token' ? { signedInApp: true } : {}) } : p)) },
        result: undefined,
      }));
    }
    return true;
  }

  private hash(value: string): string {
    return this.keys.hash('app password', normalize(value));
  }

  private update<T>(username: string, change: (record: FactorRecord) => Change<T>): Promise<T> {
    return redisCall('second factors', 'cannot store app passwords', () => this.store.update(username, change));
  }
}
