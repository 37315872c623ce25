import type { Logger } from 'pino';
import type { Directory } from '../directory/directory.js';
import { InvalidCredentialsError, PasswordRejectedError } from '../directory/errors.js';
import { regulationKey } from '../directory/username.js';
import type { Metrics } from '../ops/metrics.js';
import { redisCall } from '../redis/errors.js';
import { BannedError, countReservedFailure, type Regulation, type Reservation } from './regulation.js';

/** Where a change was made: the account page, or at sign-in (must change, expired). */
export type ChangeWhere = 'account' | 'sign-in';

export interface PasswordChangeDeps {
  directory: Pick<Directory, 'changePassword'>;
  /** The password regulation: a wrong current password is a failed sign-in like any other. */
  regulation: Pick<Regulation, 'reserve' | 'release' | 'confirm' | 'succeeded'>;
  metrics: Pick<Metrics, 'passwordChanges' | 'bans'>;
  /** Told after each change, so every thread and replica forgets Basic checks of the old password (SessionService). */
  changed: (username: string) => Promise<void>;
  log: Logger;
}

/**
 * A person changes their own directory password, proving the current one. Guessing the current
 * password here is guessing a password: it counts against the same bans as the sign-in form, and
 * is reserved before the directory's bind as a sign-in is.
 */
export class PasswordChange {
  constructor(private readonly deps: PasswordChangeDeps) {}

  async change(username: string, current: string, next: string, ip: string, where: ChangeWhere): Promise<void> {
    const { regulation, directory, metrics, log } = this.deps;
    const key = regulationKey(username);
    let reservation: Reservation | undefined;
    try {
      if (next === current) throw new PasswordRejectedError('same', 'the new password equals the current one');
      reservation = await redisCall('regulation', 'sign-in attempts', () => regulation.reserve(key, ip));
      await directory.changePassword(username, current, next);
    } catch (err) {
      const outcome = err instanceof BannedError ? 'banned' : err instanceof InvalidCredentialsError ? 'wrong_current' : err instanceof PasswordRejectedError ? 'rejected' : 'error';
      metrics.passwordChanges.inc({ outcome, where });
      const taken = reservation;
      if (taken && err instanceof InvalidCredentialsError) await countReservedFailure(regulation, taken, this.deps);
      // The current password was right (the new one was refused) or never judged: no failure.
      else if (taken) await redisCall('regulation', 'sign-in attempts', () => regulation.release(taken)).catch(() => undefined);
      log.info({ event: 'password.change_refused', username, ip, where, reason: err instanceof Error ? err.name : 'error', detail: err instanceof Error ? err.message : String(err) }, 'password change refused');
      throw err;
    }
    // The directory has the new password: from here nothing may report the change as refused, and
    // the old password must be forgotten everywhere before anything else can fail.
    metrics.passwordChanges.inc({ outcome: 'changed', where });
    log.warn({ event: 'password.changed', username, ip, where }, 'password changed');
    await this.deps.changed(username);
    const taken = reservation;
    const bookkeeping = (err: unknown) => log.warn({ event: 'password.change_bookkeeping', username, err: err instanceof Error ? err.message : String(err) }, 'password changed, but its sign-in attempt could not be given back (it expires with its window)');
    await redisCall('regulation', 'sign-in attempts', () => regulation.release(taken)).catch(bookkeeping);
    await redisCall('regulation', 'sign-in attempts', () => regulation.succeeded(key, ip)).catch(bookkeeping);
  }
}
