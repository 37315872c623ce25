import type { Request } from 'express';
import type { PendingSignIn } from '../session/session-data.js';

/** A half-done sign-in older than this starts over at the password. */
export const PENDING_MS = 10 * 60_000;

/** The session's half-done sign-in at this stage, if it is fresh and nobody is signed in yet. */
export function pendingSignIn(req: Request, stage: PendingSignIn['stage']): PendingSignIn | undefined {
  const pending = req.session?.pending;
  if (!pending || pending.stage !== stage || Date.now() - pending.startedAt > PENDING_MS || req.session.user) return undefined;
  return pending;
}
