import type { Request, RequestHandler, Response } from 'express';
import { parse as parseCookies } from 'cookie';
import { LoginFormExpiredError, WrongAddressError } from './errors.js';
import type { LoginCsrf } from './login-csrf.js';

export interface FormGuardDeps {
  csrf: LoginCsrf;
  /** The nonce cookie's name; it is scoped to the sign-in pages (`/accounts/login/`). */
  cookieName: string;
  secureCookie: boolean;
  publicUrl: URL;
}

/** The Origin of a post from another site (undefined for a same-origin post or one without Origin). */
export function foreignOrigin(req: Request, publicUrl: URL): string | undefined {
  const origin = req.get('origin');
  return origin !== undefined && origin !== 'null' && origin !== publicUrl.origin ? origin : undefined;
}

/**
 * Whether a post from `origin` came from a page the browser loaded from this gateway at that
 * address, rather than from another site. The browser says so itself with `Sec-Fetch-Site:
 * same-origin` (sent to https and localhost only); elsewhere (plain http on an IP address) its
 * Origin names the very host it posted to. A site forging a post can make neither happen; a
 * client that is no browser can send any of these headers, so what this decides is the person's
 * notice, and the log line says it as the client's claim (login.ts).
 */
function postedFromItself(req: Request, origin: string): boolean {
  const site = req.get('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin';
  const host = req.get('host');
  if (host === undefined) return false;
  try {
    const from = new URL(origin);
    return new URL(`${from.protocol}//${host}`).host === from.host;
  } catch {
    return false; // Origin: null, or a Host no URL can hold
  }
}

/**
 * Cross-site request forgery protection for the sign-in pages (the password form and the second
 * step): a double-submit token bound to a nonce cookie, and a same-origin check. Before sign-in
 * there is no session to bind a token to.
 */
export function formGuard(deps: FormGuardDeps) {
  /** A token for a form on this page; sets the nonce cookie when the browser lacks a good one. */
  const token = (req: Request, res: Response): string => {
    const nonce = deps.csrf.nonceFor(parseCookies(req.headers.cookie ?? '')[deps.cookieName]);
    res.cookie(deps.cookieName, nonce, { httpOnly: true, sameSite: 'lax', secure: deps.secureCookie, path: '/accounts/login/' });
    return deps.csrf.tokenFor(nonce);
  };

  const check: RequestHandler = (req, _res, next) => {
    const origin = foreignOrigin(req, deps.publicUrl);
    if (origin !== undefined) {
      // Refused either way; only what the person and the log are told differs.
      next(postedFromItself(req, origin) ? new WrongAddressError(origin, deps.publicUrl) : new LoginFormExpiredError(`form posted from foreign origin ${origin}`));
      return;
    }
    const nonce = parseCookies(req.headers.cookie ?? '')[deps.cookieName];
    if (!deps.csrf.verify(nonce, (req.body as Record<string, unknown>)._csrf)) {
      next(new LoginFormExpiredError('form CSRF token missing or wrong'));
      return;
    }
    next();
  };

  return { token, check };
}

export type FormGuard = ReturnType<typeof formGuard>;
