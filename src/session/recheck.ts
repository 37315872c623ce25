import type { Logger } from 'pino';
import type { AccountStatus } from '../directory/account-status.js';
import { systemClock, type Clock } from '../clock.js';
import type { LoadedSession } from './sessions.js';

/** What the re-check needs of the sessions: ending every session of a refused account. */
export interface SessionRevoker {
  revokeUser(username: string): Promise<number>;
}

/** After a failed check (directory down), wait this long before asking again for that user. */
const RETRY_AFTER_OUTAGE_MS = 30_000;

/**
 * Re-checks signed-in users against the directory once per interval, not per
 * request: someone disabled, deleted or removed from the allowed groups loses
 * every session within the interval. One lookup per user at a time, however
 * many requests arrive; a directory outage keeps sessions (and is logged).
 */
export class DirectoryRecheck {
  private readonly inFlight = new Map<string, Promise<AccountStatus | undefined>>();
  private readonly retryAt = new Map<string, number>();

  constructor(
    private readonly verify: (username: string) => Promise<AccountStatus>,
    private readonly intervalMs: number,
    private readonly sessions: SessionRevoker,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  due(session: LoadedSession): boolean {
    const now = this.clock.now();
    return now - session.checkedAt >= this.intervalMs && now >= (this.retryAt.get(session.user.username) ?? 0);
  }

  /**
   * The account's current status, or undefined when the directory could not
   * tell. A refused account has its sessions revoked before this returns.
   */
  async status(username: string): Promise<AccountStatus | undefined> {
    let pending = this.inFlight.get(username);
    if (!pending) {
      pending = this.run(username).finally(() => this.inFlight.delete(username));
      this.inFlight.set(username, pending);
    }
    return pending;
  }

  private async run(username: string): Promise<AccountStatus | undefined> {
    this.log.debug({ event: 'session.recheck', username }, 'rechecking account in the directory');
    let status: AccountStatus;
    try {
      status = await this.verify(username);
    } catch (err) {
      this.retryAt.set(username, this.clock.now() + RETRY_AFTER_OUTAGE_MS);
      this.log.warn({ event: 'session.recheck_failed', username, err: String(err) }, 'could not recheck account; sessions kept');
      return undefined;
    }
    this.retryAt.delete(username);
    if (!status.active) {
      this.log.info({ event: 'session.revoked', username, reason: status.reason }, 'account refused on recheck');
      await this.sessions.revokeUser(username);
    }
    return status;
  }
}
