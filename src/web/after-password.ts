import type { Request, Response } from 'express';
import { parse as parseCookies } from 'cookie';
import type { Logger } from 'pino';
import type { DirectoryUser } from '../directory/directory.js';
import type { NextStep, SecondFactors } from '../mfa/second-factors.js';
import type { SessionService } from '../session/sessions.js';
import type { FirstFactor } from '../session/sign-in-state.js';
import type { CompleteSignIn } from './complete-sign-in.js';

export interface AfterPasswordDeps {
  /** Undefined while GATEWAY_MFA is off. */
  secondFactors?: Pick<SecondFactors, 'nextStep'>;
  /** Whether Paperless has no account for this person yet (GATEWAY_MFA_ENROLMENT=first-login). */
  firstSignIn: (username: string) => Promise<boolean>;
  complete: CompleteSignIn;
  sessions: Pick<SessionService, 'beginSecondStep'>;
  /** The "remember this device" cookie's name. */
  deviceCookieName: string;
  log: Logger;
}

/** What the password form carried on to the steps after it. */
export interface SignInIntent {
  remember: boolean;
  next: string | undefined;
  /** An admin's enrolment link (`?enrol=`). */
  enrol?: string | undefined;
}

/**
 * Once the first factor is proven (the password, typed or just changed because the directory asked
 * for it, or a Kerberos ticket): sign the person in, or go on to the second step or the
 * enrolment, whichever the policy asks.
 */
export function afterPassword(deps: AfterPasswordDeps) {
  return async (req: Request, res: Response, user: DirectoryUser, intent: SignInIntent, proof: FirstFactor): Promise<void> => {
    const step: NextStep = deps.secondFactors
      ? await deps.secondFactors.nextStep(user, {
          deviceCookie: parseCookies(req.headers.cookie ?? '')[deps.deviceCookieName],
          enrolLink: intent.enrol,
          firstSignIn: () => deps.firstSignIn(user.username),
        })
      : { step: 'done', remembered: false };
    if (step.step === 'done') {
      res.redirect(303, await deps.complete(req, user, { remember: intent.remember, proof: step.remembered ? `${proof}+remembered-device` : proof, next: intent.next }));
      return;
    }
    await deps.sessions.beginSecondStep(req, {
      user,
      stage: step.step,
      remember: intent.remember,
      ...(proof === 'kerberos' ? { firstFactor: 'kerberos' as const } : {}),
      ...(intent.next ? { next: intent.next } : {}),
      ...(step.step === 'enrol' && step.link ? { link: step.link } : {}),
    });
    deps.log.info({ event: 'login.password_ok', username: user.username, ip: req.ip, via: proof, next: step.step }, 'first factor accepted; second step follows');
    res.redirect(303, step.step === 'verify' ? '/accounts/login/verify/' : '/accounts/login/enrol/');
  };
}

export type AfterPassword = ReturnType<typeof afterPassword>;
