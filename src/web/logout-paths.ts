/**
 * Which requests are a logout that Paperless would honour, read on the path as Django routes it.
 *
 * granian hands Django the percent-decoded path, and Django's resolver matches that: so
 * `/api/auth/%6cogout/` is allauth's logout, and Paperless's unanchored `re_path("admin/")` makes
 * `/x/admin/logout/` (even `/api/x/admin/logout/`, once the `^api/` patterns fail) the admin's.
 * Each of them ends only Paperless's session, so the gateway answers them itself with a whole
 * logout (paperless-contract.md §9).
 */

import { djangoRoutedPath } from '../url-path.js';

/** allauth's headless session endpoints (Paperless 3.x): DELETE there is a logout. */
export const HEADLESS_LOGOUTS: readonly string[] = ['/api/auth/headless/browser/v1/auth/session', '/api/auth/headless/app/v1/auth/session'];

export type LogoutKind =
  /** The gateway's own sign-out and allauth's `/accounts/logout/`: every method. */
  | 'accounts'
  /** allauth's logout at `/api/auth/logout/` (ACCOUNT_LOGOUT_ON_GET: GET and HEAD too), and Django admin's. */
  | 'paperless'
  /** allauth's headless DELETE of the session (browsers' and apps'). */
  | 'headless';

/** The logout a request is, as Paperless would route it; undefined when it is none. */
export function logoutKind(method: string | undefined, path: string): LogoutKind | undefined {
  const routed = djangoRoutedPath(path);
  if (routed.startsWith('/accounts/logout')) return 'accounts';
  if (routed === '/api/auth/logout/') return 'paperless';
  // The admin's routes are searched for, not anchored: whatever stands before `admin/`.
  if (routed.endsWith('admin/logout/')) return 'paperless';
  if (method === 'DELETE' && HEADLESS_LOGOUTS.includes(routed)) return 'headless';
  return undefined;
}
