import type { RequestHandler } from 'express';
import type { DirectoryUser } from '../directory/directory.js';
import type { AppPasswords } from '../mfa/app-passwords.js';
import { ACCOUNT_PATH, AccountActionError, doneAt, type AccountContext } from './account-context.js';

/** The account page's app passwords: made (password asked again), shown once, revoked. */
export function appPasswordRoutes(ctx: AccountContext): void {
  const { deps, router, requireSession, requireMfa, parseForm, checkForm, confirmed, showView, showFailure } = ctx;
  const { pages } = deps;

  const createAppPassword: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const name = ((req.body ?? {}) as Record<string, unknown>).name;
    try {
      const created = await (deps.appPasswords as AppPasswords).create(user.username, typeof name === 'string' ? name : '');
      pages.render(req, res, 200, 'app-password.njk', { name: created.name, value: created.value, username: user.username });
    } catch (err) {
      next(err);
    }
  };

  const revokeAppPassword: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const id = ((req.body ?? {}) as Record<string, unknown>).id;
    try {
      const appPasswords = deps.appPasswords as AppPasswords;
      const entry = (await appPasswords.list(user.username)).find((p) => p.id === id);
      if (!entry) throw new AccountActionError(`no app password ${String(id)} of ${user.username}`, 'That app password does not exist (any more).');
      // The token it fetched is the person's one Paperless token: only a new one ends that app's
      // access. Replaced first, so a Paperless outage leaves the app password in place to try again.
      if (entry.signedInApp) await deps.rotatePaperlessToken(user.username);
      const revoked = await appPasswords.revoke(user.username, entry.id);
      if (!revoked) throw new AccountActionError(`app password ${entry.id} of ${user.username} went meanwhile`, 'That app password does not exist (any more).');
      res.redirect(303, doneAt('app-passwords', revoked.signedInApp ? 'app-revoked-token' : 'app-revoked'));
    } catch (err) {
      next(err);
    }
  };

  router.post(`${ACCOUNT_PATH}app-passwords`, requireMfa, requireSession, parseForm, checkForm, confirmed, createAppPassword, showFailure(showView('app-passwords')));
  router.post(`${ACCOUNT_PATH}app-passwords/revoke`, requireMfa, requireSession, parseForm, checkForm, revokeAppPassword, showFailure(showView('app-passwords')));
}
