import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { CredentialCheck } from '../auth/credential-check.js';
import { refusedSignIn } from '../auth/refused-sign-in.js';
import { GatewayError } from '../errors.js';
import { negotiateHeader, type Negotiator } from '../kerberos/negotiate.js';
import type { SessionService } from '../session/sessions.js';
import type { AfterPassword } from './after-password.js';
import { safeNextPath } from './next-path.js';
import { fromOwnPage, sourceOrigin } from '../proxy/request-origin.js';

/** The browser said "not with this computer's account": the sign-in page then offers no Negotiate. */
export const KERBEROS_OPT_OUT_COOKIE = 'gateway_kerberos';
/** How long the opt-out lasts: a shared PC's next person, or one who signed out, types a password until then. */
const OPT_OUT_MS = 30 * 86_400_000;

export interface KerberosSignInDeps {
  negotiator: Pick<Negotiator, 'accept'>;
  credentials: Pick<CredentialCheck, 'checkTicket'>;
  afterPassword: AfterPassword;
  sessions: Pick<SessionService, 'state'>;
  publicUrl: URL;
  log: Logger;
}

/** What the sign-in page then shows, when the Kerberos step did not sign the person in. */
export interface KerberosOutcome {
  /** 401 with `WWW-Authenticate: Negotiate` (the form is its body), or a refusal's status. */
  status: number;
  error?: string;
  /** Whether this browser opted out, so the form can offer the way back. */
  optedOut: boolean;
}

/** The browser says another site sent this request (Fetch Metadata, else Origin or Referer). */
function fromOtherSite(req: Request, publicUrl: URL): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site' || req.headers['sec-fetch-site'] === 'same-site') return true;
  const source = sourceOrigin(req.headers.origin, req.headers.referer);
  return source !== undefined && source !== publicUrl.origin;
}

/**
 * Whether any of the request's cookies of that name says off: a neighbouring host of the same site
 * can add a cookie of the name (on a longer path, sent first), but never take the browser's away.
 */
function hasOptOut(header: string | undefined): boolean {
  return (header ?? '').split(';').some((pair) => {
    const eq = pair.indexOf('=');
    return eq > 0 && pair.slice(0, eq).trim() === KERBEROS_OPT_OUT_COOKIE && pair.slice(eq + 1).trim() === 'off';
  });
}

/** Sets (or clears) the browser's opt-out; the sign-out page sets it too, or the next request signs the person in again. */
export function setKerberosOptOut(res: Response, on: boolean, secure: boolean): void {
  if (on) res.cookie(KERBEROS_OPT_OUT_COOKIE, 'off', { httpOnly: true, sameSite: 'lax', secure, path: '/accounts/', maxAge: OPT_OUT_MS });
  else res.clearCookie(KERBEROS_OPT_OUT_COOKIE, { httpOnly: true, sameSite: 'lax', secure, path: '/accounts/' });
}

/**
 * The first step of `GET /accounts/login/` while GATEWAY_KERBEROS is on (SPNEGO, RFC 4559). Without
 * an `Authorization: Negotiate`, the page is a 401 offering Negotiate whose body is the normal form:
 * a browser without a ticket shows the form, one with a ticket asks again with it. A ticket is
 * admitted as a password is (CredentialCheck.checkTicket), then the second-factor policy and the
 * session follow as after a password. An NTLM answer (a Windows client without a ticket) gets the
 * form; a refused ticket gets the form with the reason and no new challenge, so no browser loops.
 * `?kerberos=off` opts this browser out (a shared PC: someone else signs in), `?kerberos=on` back in.
 */
export function kerberosSignIn(deps: KerberosSignInDeps): RequestHandler {
  const secure = deps.publicUrl.protocol === 'https:';
  return async (req: Request, res: Response, next) => {
    const outcome = (o: KerberosOutcome) => {
      res.locals.kerberos = o;
      next();
    };
    // The opt-out is the person's: another site may not set it, and undoing a sign-out's needs
    // evidence of this site's own page (over plain http a link with rel=noreferrer brings none).
    const asked = req.query.kerberos;
    const toggle = asked === 'off' ? (fromOtherSite(req, deps.publicUrl) ? undefined : 'off') : asked === 'on' && fromOwnPage(req.headers, deps.publicUrl) ? 'on' : undefined;
    if (toggle) setKerberosOptOut(res, toggle === 'off', secure);
    const optedOut = toggle === 'off' || (toggle !== 'on' && hasOptOut(req.headers.cookie));
    // Someone signed in already sees who; nobody is signed in as another by their computer. Only
    // a browser's page load is asked for a ticket (over plain http, without Fetch Metadata: one
    // that asks for HTML): an image or a script of another site that points here would otherwise
    // make a session each time the browser answers for the person. Scripts (curl) are asked.
    const dest = req.headers['sec-fetch-dest'];
    const browser = (req.headers['user-agent'] ?? '').startsWith('Mozilla/');
    const pageLoad = dest !== undefined ? dest === 'document' : !browser || (req.headers.accept ?? '').includes('text/html');
    if (optedOut || deps.sessions.state(req).level === 'signed-in' || !pageLoad) {
      outcome({ status: 200, optedOut });
      return;
    }
    let principal: string | undefined;
    try {
      const header = negotiateHeader(req.headers.authorization);
      if (header.kind === 'ntlm') {
        deps.log.info({ event: 'kerberos.ntlm', ip: req.ip }, 'the browser offered NTLM, not a Kerberos ticket: the form instead');
        outcome({ status: 200, optedOut });
        return;
      }
      if (header.kind === 'none') {
        res.setHeader('WWW-Authenticate', 'Negotiate');
        outcome({ status: 401, optedOut });
        return;
      }
      const ticket = await deps.negotiator.accept(header.token, req.ip ?? '');
      principal = ticket.principal;
      const user = await deps.credentials.checkTicket(ticket.username, ticket.realm, req.ip ?? '');
      // Mutual authentication: the browser may check that it was this service that answered.
      if (ticket.response) res.setHeader('WWW-Authenticate', `Negotiate ${ticket.response}`);
      deps.log.info({ event: 'kerberos.accepted', principal, username: user.username, ip: req.ip }, 'signed in by a Kerberos ticket');
      await deps.afterPassword(req, res, user, { remember: false, next: safeNextPath(req.query.next, deps.publicUrl) }, 'kerberos');
    } catch (err) {
      if (!(err instanceof GatewayError)) {
        next(err);
        return;
      }
      res.set(refusedSignIn(deps.log, err, { via: 'kerberos', username: principal, ip: req.ip }));
      outcome({ status: err.status, error: err.userMessage, optedOut });
    }
  };
}
