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

/** People whose last verdict is remembered (one entry per person, not per token or session). */
const MAX_REMEMBERED_PEOPLE = 50_000;

/** What the directory last said of a person: whether they may still use anything, and why not. */
export type PersonVerdict = { active: true } | { active: false; reason: string };

/**
 * Re-checks signed-in users against the directory once per interval, not per
 * request: someone disabled, deleted or removed from the allowed groups loses
 * every session within the interval. One lookup per user at a time, however
 * many requests arrive; a directory outage keeps sessions (and is logged).
 */
export class DirectoryRecheck {
  private readonly inFlight = new Map<string, Promise<AccountStatus | undefined>>();
  private readonly retryAt = new Map<string, number>();
  /** The latest verdict per person, from any re-check (session or token), for requests without a session. */
  private readonly verdicts = new Map<string, { at: number; verdict: PersonVerdict }>();
  private readonly confirmedListeners: Array<(username: string) => void> = [];

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

  /** Hears every person the directory confirmed (the token check records them as directory people). */
  onConfirmed(listener: (username: string) => void): void {
    this.confirmedListeners.push(listener);
  }

  /**
   * The person's verdict if the directory gave it less than an interval ago: what a request
   * without a session (a Paperless token) goes by, without a directory call.
   */
  recent(username: string): PersonVerdict | undefined {
    const entry = this.verdicts.get(username);
    if (!entry) return undefined;
    if (this.clock.now() - entry.at >= this.intervalMs) {
      this.verdicts.delete(username);
      return undefined;
    }
    return entry.verdict;
  }

  /**
   * For requests without a session (Paperless tokens): the person's verdict, asked of the
   * directory at most once per interval per person, however many tokens or requests. Undefined
   * when the directory cannot tell (an outage keeps tokens, as it keeps sessions). A refused
   * person's sessions are revoked before this returns.
   */
  async person(username: string): Promise<PersonVerdict | undefined> {
    const recent = this.recent(username);
    if (recent) return recent;
    if (this.clock.now() < (this.retryAt.get(username) ?? 0)) return undefined;
    await this.status(username);
    return this.recent(username);
  }

  private remember(username: string, verdict: PersonVerdict): void {
    this.verdicts.delete(username);
    if (this.verdicts.size >= MAX_REMEMBERED_PEOPLE) {
      const oldest = this.verdicts.keys().next().value;
      if (oldest !== undefined) this.verdicts.delete(oldest);
    }
    this.verdicts.set(username, { at: this.clock.now(), verdict });
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
    this.remember(username, status.active ? { active: true } : { active: false, reason: status.reason });
    if (!status.active) {
      this.log.info({ event: 'session.revoked', username, reason: status.reason }, 'account refused on recheck');
      await this.sessions.revokeUser(username);
    } else {
      for (const listener of this.confirmedListeners) listener(username);
    }
    return status;
  }
}
