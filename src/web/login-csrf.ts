import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Double-submit token for the login form: the browser holds a random nonce
 * in a cookie, the form carries its HMAC. Nothing is stored server-side, so
 * anonymous visitors cost no Redis writes.
 */
export class LoginCsrf {
  constructor(private readonly secret: string) {}

  newNonce(): string {
    return randomBytes(18).toString('base64url');
  }

  /**
   * The browser's nonce when it already has a well-formed one, else a new one.
   * Keeping it matters: a browser loads more than the form (its favicon request
   * is redirected to the sign-in page too), and a fresh nonce on every load
   * would make the form it shows stale before it is sent.
   */
  nonceFor(existing: string | undefined): string {
    return existing !== undefined && /^[A-Za-z0-9_-]{24}$/.test(existing) ? existing : this.newNonce();
  }

  tokenFor(nonce: string): string {
    return createHmac('sha256', this.secret).update(`login-csrf:${nonce}`).digest('base64url');
  }

  verify(nonce: unknown, token: unknown): boolean {
    if (typeof nonce !== 'string' || typeof token !== 'string' || nonce === '') return false;
    const expected = Buffer.from(this.tokenFor(nonce));
    const given = Buffer.from(token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
