import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { MfaKeys } from './mfa-keys.js';

/**
 * "Remember this device": a cookie signed with its own key, naming the person, their factors'
 * generation, an expiry and a random device id. A reset, a removed factor, a new or replaced
 * authenticator app and a first passkey start a new generation, which every remembered device
 * of that person fails to match.
 */
export class RememberedDevices {
  constructor(
    private readonly keys: Pick<MfaKeys, 'signDevice'>,
    readonly durationMs: number,
  ) {}

  issue(username: string, generation: string, nowMs: number): string {
    const payload = ['v1', Buffer.from(username).toString('base64url'), generation, String(nowMs + this.durationMs), randomBytes(9).toString('base64url')].join('.');
    return `${payload}.${this.keys.signDevice(payload)}`;
  }

  /** Whether `cookie` remembers this person's device for their current generation. */
  remembers(cookie: string | undefined, username: string, generation: string, nowMs: number): boolean {
    if (!cookie || cookie.length > 400) return false;
    const cut = cookie.lastIndexOf('.');
    const payload = cookie.slice(0, cut);
    const expected = Buffer.from(this.keys.signDevice(payload));
    const given = Buffer.from(cookie.slice(cut + 1));
    if (cut < 0 || expected.length !== given.length || !timingSafeEqual(expected, given)) return false;
    const [version, user, gen, expires] = payload.split('.');
    return version === 'v1' && user === Buffer.from(username).toString('base64url') && gen === generation && Number(expires) > nowMs;
  }
}
