const SAMPLES = 64;

interface Time {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

const SYSTEM_TIME: Time = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/**
 * Makes every refused sign-in take as long as a successful one: an unknown
 * user (no bind), a wrong password (a failed bind) and a ban (no directory
 * at all) would otherwise be told apart by the clock. Failures are padded to
 * a floor derived from recent successful authentications, plus a little
 * jitter, so the floor follows the directory's real speed.
 */
export class ResponseTiming {
  private readonly samples: number[] = [];
  private readonly time: Time;

  constructor(
    private readonly minimumMs = 150,
    /**
     * Monotonic milliseconds, how the padding is waited out, and the jitter's randomness: the
     * system's, a test's, or (the pages thread's wait) a hold on the answer instead of a sleep.
     */
    time: Partial<Time> = {},
  ) {
    this.time = { ...SYSTEM_TIME, ...time };
  }

  /** The clock attempts are timed with: `pad` compares against it. */
  now(): number {
    return this.time.now();
  }

  recordSuccess(ms: number): void {
    this.samples.push(ms);
    if (this.samples.length > SAMPLES) this.samples.shift();
  }

  /** The 95th percentile of recent successes, with 10 % headroom, and never below the minimum. */
  floorMs(): number {
    if (this.samples.length === 0) return this.minimumMs;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? 0;
    return Math.max(this.minimumMs, p95 * 1.1);
  }

  /** Waits until `startedAt` + floor (+ up to 4 % jitter) has passed. */
  async pad(startedAt: number): Promise<void> {
    const target = this.floorMs() * (1 + this.time.random() * 0.04);
    const wait = target - (this.time.now() - startedAt);
    if (wait > 0) await this.time.sleep(wait);
  }
}
