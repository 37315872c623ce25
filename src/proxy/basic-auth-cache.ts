import { createHmac, randomBytes } from 'node:crypto';

/**
 * Remembers successful Basic checks for a short time, so a script's every
 * request does not bind to LDAP. Keys are an HMAC of the credentials with a
 * key that exists only in this process: never a plain hash someone could
 * brute-force from a memory dump, and never stored anywhere else.
 */
export class BasicAuthCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, { username: string; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  private id(username: string, password: string): string {
    return createHmac('sha256', this.key).update(username).update('\0').update(password).digest('base64url');
  }

  get(username: string, password: string): string | undefined {
    const id = this.id(username, password);
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.username;
  }

  set(username: string, password: string, resolved: string): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(this.id(username, password), { username: resolved, expires: Date.now() + this.ttlMs });
  }
}
