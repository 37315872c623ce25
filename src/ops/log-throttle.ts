import { systemClock, type Clock } from '../clock.js';

/**
 * Says whether a log line about `key` is due: at most one per interval per key. For lines a
 * client can cause at will (a warning per request would flood the log and bury the first one).
 * The keys may be the client's, so the table is bounded: when full, entries older than the
 * interval go, and if none has, it starts over (a flood of new keys then logs again, no more).
 */
export class LogThrottle {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly maxKeys = 1024,
    private readonly clock: Clock = systemClock,
  ) {}

  due(key = ''): boolean {
    const now = this.clock.now();
    const at = this.last.get(key);
    if (at !== undefined && now - at < this.intervalMs) return false;
    if (at === undefined && this.last.size >= this.maxKeys) {
      for (const [k, t] of this.last) if (now - t >= this.intervalMs) this.last.delete(k);
      if (this.last.size >= this.maxKeys) this.last.clear();
    }
    this.last.set(key, now);
    return true;
  }
}
