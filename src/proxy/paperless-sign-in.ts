import { djangoRoutedPath } from '../url-path.js';
import { SAFE_METHODS } from './request-origin.js';

/**
 * Paperless's own ways to sign in with a local password, or to set one, which must never be
 * reached through the gateway: DRF's `/api/token/` (the gateway answers `POST /api/token/` itself,
 * with the directory), DRF's browsable-API login, Django admin's login and password forms, and
 * allauth's pages under `/accounts/` and its headless API. Through any of them a signed-in person
 * could try, unregulated, the password of a local account (Paperless's own `admin`) and come back
 * as that account, or give themselves a second password the directory never sees.
 *
 * Read on the path as Django routes it (decoded: `/api/%74oken/` is `/api/token/`), and wider
 * than Django on purpose: a wrong yes refuses a request no Paperless page makes.
 */

/** Django admin's views that take a local password: its login, both password forms, and the form that adds a user with one. */
const ADMIN_CREDENTIALS = /admin\/(?:login|password_change|auth\/user\/(?:add|[^/]+\/password))/;

/** Why a request would reach one of Paperless's local-password views; undefined when it would not. */
export function paperlessSignInRoute(method: string | undefined, path: string): string | undefined {
  const routed = djangoRoutedPath(path);
  if (routed.startsWith('/api/token')) return "Paperless's own token sign-in is not reachable through the gateway: apps sign in with POST /api/token/ and the directory password.";
  if (routed.startsWith('/accounts/')) return "Paperless's own account pages are not reachable through the gateway: sign in at /accounts/login/, and manage your password and second factors at /accounts/security/.";
  if (ADMIN_CREDENTIALS.test(routed)) return "Paperless's own sign-in and password forms are not reachable through the gateway: people sign in with their directory password.";
  // DRF's browsable-API login and allauth's headless API; their logouts are the gateway's, and
  // reading them (a GET) changes nothing.
  if (routed.startsWith('/api/auth/') && !SAFE_METHODS.has(method ?? 'GET')) return "Paperless's own sign-in is not reachable through the gateway: sign in at /accounts/login/.";
  return undefined;
}
