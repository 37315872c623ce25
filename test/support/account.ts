import assert from 'node:assert/strict';
import type { Browser, Reply } from './http-client.js';
import { fieldsOn } from './totp.js';

/**
 * "Confirm it's you" on the account page (src/web/account-confirm.ts), with the password or an
 * authenticator code: opens the session's step-up window. Returns the answer to the post (a 303
 * to `next` when it worked).
 */
export async function confirmItsMe(b: Browser, proof: { password: string } | { code: string }, next = '/accounts/security/'): Promise<Reply> {
  const page = await b.get(`/accounts/security/confirm/?next=${encodeURIComponent(next)}`);
  assert.equal(page.status, 200, `the confirm page, for ${next}: ${page.status} ${page.headers.location ?? ''}`);
  return b.post('/accounts/security/confirm/', { ...fieldsOn(page.body, ['_csrf', 'next']), ...proof });
}
