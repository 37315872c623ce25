import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { RedisClient } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';

/** How long "confirm it's you" lasts: sensitive account actions inside it ask for nothing again. */
export const STEP_UP_MS = 10 * 60_000;

/**
 * The step-up window of the account page (Authelia's elevation, GitHub's sudo mode): after the
 * person proved it is them again, for one session and a few minutes, changes to their ways in
 * need no retyping. Kept in Redis, so every replica and both threads see it, per person (one
 * hash), so that a changed factor or password ends every session's window at once. A session is
 * named by a hash of its id: the id itself, a bearer secret, is stored nowhere else.
 */
export class StepUpWindows {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
    readonly windowMs: number = STEP_UP_MS,
  ) {}

  /** Opens (or renews) the window of this session; returns when it ends (epoch ms). */
  async open(username: string, sid: string): Promise<number> {
    const until = this.clock.now() + this.windowMs;
    const key = this.keys.stepUp(username);
    // The key outlives no window: each opening sets its lifetime to a whole window again.
    await this.redis.multi().hset(key, fieldOf(sid), String(until)).pexpire(key, this.windowMs).exec();
    return until;
  }

  /** When this session's window ends (epoch ms), or undefined when it has none open. */
  async openUntil(username: string, sid: string): Promise<number | undefined> {
    const stored = await this.redis.hget(this.keys.stepUp(username), fieldOf(sid));
    const until = Number(stored);
    return stored !== null && Number.isFinite(until) && until > this.clock.now() ? until : undefined;
  }

  /** A factor or the password changed: every session of this person confirms again. */
  async endAll(username: string): Promise<void> {
    await this.redis.del(this.keys.stepUp(username));
  }

  /**
   * endAll after a change the directory or the store already made: a window left open is logged,
   * never a reason to report the change as failed (or to skip what follows it).
   */
  async endAllAfterChange(username: string, log: Pick<Logger, 'error'>): Promise<void> {
    await this.endAll(username).catch((err: unknown) => log.error({ event: 'step_up.not_ended', username, err: err instanceof Error ? err.message : String(err) }, 'the step-up windows could not be ended'));
  }
}

function fieldOf(sid: string): string {
  return createHash('sha256').update(sid).digest('base64url').slice(0, 32);
}
