/**
 * Paperless lets a signed-in person give themselves a local password: `PATCH /api/profile/`
 * (its profile dialog) with a `password` that is not all `*` sets it (contract §9). Behind the
 * gateway people sign in with their directory password; a local one would be a second password
 * that the directory's policy, expiry and lock-out never see, and that signs in wherever
 * Paperless is reached without the gateway (and at /api/token/ when it is forwarded).
 */

import { djangoRoutedPath } from '../url-path.js';

/** The profile dialog sends a few hundred bytes; anything near this is no profile change. */
export const PROFILE_BODY_LIMIT_BYTES = 16 * 1024;

/** The whole body, not each chunk: a trickling client holds its request this long at most. */
export const PROFILE_BODY_TIMEOUT_MS = 10_000;

/** The account page's view where the directory password is changed (web/account-context.ts). */
const ACCOUNT_PAGE = '/accounts/security/password/';

export const LOCAL_PASSWORD_REFUSED = `Paperless does not keep a password of its own for you: you sign in with your directory password. To change it, set your password on the account page at ${ACCOUNT_PAGE}.`;

/** For an administrator setting a local password on a user through Paperless's users API. */
export const USER_PASSWORD_REFUSED = 'Local Paperless passwords are not set through the gateway: people sign in with their directory password. Set a local account\'s password on the Paperless host (manage.py changepassword).';

/**
 * Which of Paperless's views that take a `password` Django would route `path` to (the canonical
 * target's path, still percent-encoded): the profile (one's own), or the users API (anyone's, for
 * an administrator). Django routes the percent-decoded path, so `/api/%70rofile/` and
 * `/api%2Fprofile/` are `/api/profile/`. Wider than Django on purpose (repeated slashes, no
 * trailing slash, any case): a wrong yes costs only a look at a small body.
 */
export function passwordView(path: string): 'profile' | 'users' | undefined {
  const routed = djangoRoutedPath(path);
  if (PROFILE.test(routed)) return 'profile';
  if (USERS.test(routed)) return 'users';
  return undefined;
}

// DRF's router adds format suffixes (`/api/users.json`, `/api/users/5.json`) to the same views.
const PROFILE = /^\/+api\/+profile(?:\.[^/]*)?\/*$/i;
const USERS = /^\/+api\/+users(?:\.[^/]*)?(?:\/+[^/]*)?\/*$/i;

/** A body the gateway cannot read as Paperless would: refused, since it might set a password. */
export class UnreadableProfileChange {
  constructor(readonly reason: string) {}
}

/**
 * What a profile change body asks about the local password: `'sets'` when it holds a new one
 * (a `password` that is not a string of `*`, the dialog's "unchanged"), `'keeps'` otherwise, or
 * why it cannot be read. Read as DRF reads it: JSON or a form (its two text parsers), in UTF-8;
 * anything else is refused rather than guessed at.
 */
export function localPasswordIn(contentType: string | undefined, body: Buffer): 'sets' | 'keeps' | UnreadableProfileChange {
  if (body.length === 0) return 'keeps';
  const [type = '', ...params] = (contentType ?? '').split(';').map((p) => p.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/^"(.*)"$/, '$1');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return new UnreadableProfileChange('A profile change is sent in UTF-8.');
  const text = body.toString('utf8');
  if (type === 'application/json') {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return new UnreadableProfileChange('A profile change is sent as JSON that can be read.');
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data) || !Object.hasOwn(data, 'password')) return 'keeps';
    return keepsPassword((data as Record<string, unknown>).password) ? 'keeps' : 'sets';
  }
  if (type === 'application/x-www-form-urlencoded') {
    // `;` as well as `&`: older parsers split on both, and a value hidden behind one is refused too.
    const values = [...new URLSearchParams(text).getAll('password'), ...new URLSearchParams(text.replace(/;/g, '&')).getAll('password')];
    return values.every(keepsPassword) ? 'keeps' : 'sets';
  }
  return new UnreadableProfileChange('A profile change is sent as JSON (application/json) or as a form.');
}

/** The profile dialog's "unchanged": Paperless sets a password only when something is left without the `*`s. */
function keepsPassword(value: unknown): boolean {
  return typeof value === 'string' && /^\**$/.test(value);
}
