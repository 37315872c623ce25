import Bowser from 'bowser';
import type { RequestHandler } from 'express';
import type { DirectoryUser } from '../directory/directory.js';
import type { LoadedSession } from '../session/sessions.js';
import { ACCOUNT_PATH, AccountActionError, doneAt, type AccountContext } from './account-context.js';

/** "Firefox on Windows", from a User-Agent; what a person recognises their devices by. */
export function describeBrowser(userAgent: string | undefined): string | undefined {
  if (!userAgent) return undefined;
  const parsed = Bowser.parse(userAgent);
  const browser = parsed.browser.name;
  const os = parsed.os.name;
  return browser && os ? `${browser} · ${os}` : (browser ?? os ?? userAgent.slice(0, 60));
}

/** The account page's sessions: sign out one, every other one, or all. */
export function sessionRoutes(ctx: AccountContext): void {
  const { deps, router, handleOf, requireSession, parseForm, checkForm, showView, showFailure } = ctx;

  /** `which`: one session (by handle), every other one, or all of them (this one too). */
  const endSessions =
    (which: 'one' | 'others' | 'all'): RequestHandler =>
    async (req, res, next) => {
      const user = res.locals.user as DirectoryUser;
      const current = (res.locals.session as LoadedSession).sid;
      const handle = ((req.body ?? {}) as Record<string, unknown>).session;
      try {
        const sids = (await deps.sessions.list(user.username)).map((other) => other.sid);
        const chosen = which === 'all' ? sids : which === 'others' ? sids.filter((sid) => sid !== current) : sids.filter((sid) => handleOf(sid) === handle);
        if (which === 'one' && chosen.length === 0) throw new AccountActionError(`no session ${String(handle)} of ${user.username}`, 'That session is signed out already.');
        await deps.sessions.revoke(user.username, chosen);
        if (which === 'all' || chosen.includes(current)) res.redirect(303, '/accounts/logout/');
        else res.redirect(303, doneAt('sessions', which === 'one' ? 'session-ended' : 'others-ended'));
      } catch (err) {
        next(err);
      }
    };

  router.post(`${ACCOUNT_PATH}sessions/end`, requireSession, parseForm, checkForm, endSessions('one'), showFailure(showView('sessions')));
  router.post(`${ACCOUNT_PATH}sessions/end-others`, requireSession, parseForm, checkForm, endSessions('others'), showFailure(showView('sessions')));
  router.post(`${ACCOUNT_PATH}sessions/end-all`, requireSession, parseForm, checkForm, endSessions('all'), showFailure(showView('sessions')));
}
