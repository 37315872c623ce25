import { createHmac, randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';

/**
 * Remembers successful credential checks (Basic passwords, Paperless tokens) for a short time,
 * so a script's every request does not bind to LDAP or ask Paperless. Keys are an HMAC of the
 * credentials with a key that exists only in this process: never a plain hash someone could
 * brute-force from a memory dump, and never stored anywhere else.
 */
export class CredentialCache<T> {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, { value: T; expires: number }>();
  private forgotten = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly clock: Clock = systemClock,
  ) {}

  private id(parts: readonly string[]): string {
    const hmac = createHmac('sha256', this.key);
    for (const part of parts) hmac.update(part).update('\0');
    return hmac.digest('base64url');
  }

  get(...parts: string[]): T | undefined {
    const id = this.id(parts);
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expires <= this.clock.now()) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.value;
  }

  /**
   * Forgets every entry whose value matches (a person whose password just changed, however they
   * typed their name): the keys cannot be read back, the values can.
   */
  deleteWhere(matches: (value: T) => boolean): void {
    this.forgotten++;
    for (const [id, entry] of this.entries) if (matches(entry.value)) this.entries.delete(id);
  }

  /** Forgets everything (a replica that may have missed what it should have forgotten). */
  clear(): void {
    this.forgotten++;
    this.entries.clear();
  }

  /** Counts deleteWhere and clear calls: a check that began before one must not be cached after it. */
  get generation(): number {
    return this.forgotten;
  }

  /** `set`, unless entries were forgotten since `generation` was read (the check may predate a password change). */
  setUnlessForgotten(generation: number, value: T, ...parts: string[]): void {
    if (generation === this.forgotten) this.set(value, ...parts);
  }

  set(value: T, ...parts: string[]): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(this.id(parts), { value, expires: this.clock.now() + this.ttlMs });
  }
}
