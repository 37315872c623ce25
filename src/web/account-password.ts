import type { RequestHandler } from 'express';
import type { DirectoryUser } from '../directory/directory.js';
import type { LoadedSession } from '../session/sessions.js';
import { ACCOUNT_PATH, AccountActionError, doneAt, type AccountContext } from './account-context.js';
import { EXPIRY_NOTICE_PATH } from './complete-sign-in.js';
import { readNewPassword } from './new-password-form.js';
import { safeNextPath } from './next-path.js';

/** The account page's password change, and the notice that a password expires soon. */
export function passwordRoutes(ctx: AccountContext): void {
  const { deps, router, requireSession, parseForm, checkForm, showView, showFailure } = ctx;
  const { pages } = deps;

  const changePassword: RequestHandler = async (req, res, next) => {
    const user = res.locals.user as DirectoryUser;
    const session = res.locals.session as LoadedSession;
    const passwords = deps.passwords;
    try {
      if (!passwords) throw new AccountActionError('password change is off', 'Passwords cannot be changed here.');
      const { current, next: wanted } = readNewPassword(req.body, true);
      await passwords.change(user.username, current, wanted, req.ip ?? '', 'account');
      let others = 0;
      if (passwords.signOutOthers) {
        const sids = (await deps.sessions.list(user.username)).map((s) => s.sid).filter((sid) => sid !== session.sid);
        others = await deps.sessions.revoke(user.username, sids);
      }
      res.redirect(303, doneAt('password', others > 0 ? 'password-changed-others' : 'password-changed'));
    } catch (err) {
      next(err);
    }
  };

  /** After sign-in, when the password expires within GATEWAY_PASSWORD_EXPIRY_WARNING: a notice, never a block. */
  const expiringNotice: RequestHandler = (req, res) => {
    const at = Number(req.query.at);
    const next = safeNextPath(req.query.next, deps.publicUrl) ?? '/';
    if (!Number.isFinite(at) || at <= 0) {
      res.redirect(303, next);
      return;
    }
    const days = Math.max(0, Math.ceil((at - Date.now()) / 86_400_000));
    pages.render(req, res, 200, 'password-expiring.njk', { days, at, next, canChange: deps.passwords !== undefined });
  };

  router.get(EXPIRY_NOTICE_PATH, requireSession, expiringNotice);
  router.post(`${ACCOUNT_PATH}password`, requireSession, parseForm, checkForm, changePassword, showFailure(showView('password')));
}
