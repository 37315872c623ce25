import type { DirectoryUser } from '../directory/directory.js';
import type { Proof } from './sign-in-state.js';

/** What a gateway session holds about its user. */
export interface SessionUser {
  username: string;
  displayName?: string;
  email?: string;
  groups: string[];
}

export function sessionUserFrom(user: DirectoryUser): SessionUser {
  const out: SessionUser = { username: user.username, groups: user.groups.map((g) => g.name) };
  const displayName = user.displayName ?? ([user.firstName, user.lastName].filter(Boolean).join(' ') || undefined);
  if (displayName) out.displayName = displayName;
  if (user.email) out.email = user.email;
  return out;
}

/**
 * A sign-in whose password is proven and whose second step is not yet: it lives in a session
 * without `user`, which every request path treats as signed out.
 */
export interface PendingSignIn {
  user: DirectoryUser;
  /** verify/enrol: the second step; change: a new password the directory asked for, before anything else. */
  stage: 'verify' | 'enrol' | 'change';
  next?: string;
  /** "Remember me" was ticked on the password form. */
  remember: boolean;
  startedAt: number;
  /** The first factor, when it was not the password: a Kerberos ticket. */
  firstFactor?: 'kerberos';
  /** enrol: the enrolment link that allowed it, spent when the enrolment completes. */
  link?: string;
  /** change: the proven current password, sealed (AES-256-GCM) for the ten minutes the change may take. */
  sealedPassword?: string;
  /** change: why, and how many grace sign-ins the directory still allows. */
  changeReason?: 'must-change' | 'expired';
  graceLeft?: number;
  /** change: an enrolment link the password form carried, for the step after. */
  enrol?: string;
}

declare module 'express-session' {
  interface SessionData {
    /** How far the sign-in has come (sign-in-state.ts); absent in records written before it was stored. */
    level?: 'password' | 'signed-in';
    /** Between the password and the second step (no `user` yet). */
    pending?: PendingSignIn;
    /** How the person proved who they are (absent in records written before it was stored). */
    proof?: Proof;
    user: SessionUser;
    /** Epoch ms of login: the absolute lifetime counts from here, however active the session is. */
    createdAt: number;
    /** Epoch ms the directory last confirmed the account (still there, enabled, allowed). */
    checkedAt: number;
    /** Set when "remember me" was ticked: the session's idle timeout and lifetime, in ms. */
    rememberMs?: number;
    /** Where and with what the person signed in, for their list of sessions. */
    ip?: string;
    userAgent?: string;
  }
}
