import type { SessionData } from 'express-session';
import type { PendingSignIn, SessionUser } from './session-data.js';

/** A half-done sign-in older than this starts over at the password. */
export const PENDING_MS = 10 * 60_000;
/**
 * How far ahead of this replica's clock another's may stamp a half-done sign-in: beyond it the
 * start is no time at all, or a skew that would stretch the ten minutes, and the sign-in starts over.
 */
export const CLOCK_SKEW_MS = 60_000;

/** The first factor: the directory password (typed, or just changed), or a Kerberos ticket of the person's computer. */
export type FirstFactor = 'password' | 'new-password' | 'kerberos';

/** How the person proved who they are, for the audit line and their list of sessions. */
export type Proof =
  | FirstFactor
  | `${FirstFactor}+remembered-device`
  | `${'password' | 'kerberos'}+${'totp' | 'recovery' | 'passkey' | 'enrolment'}`;

/** The proof of a sign-in that took a second step: the first factor, then the second. */
export function withSecondFactor(first: 'password' | 'kerberos' | undefined, second: 'totp' | 'recovery' | 'passkey' | 'enrolment'): Proof {
  return `${first ?? 'password'}+${second}`;
}

/**
 * How far a browser has come: nothing proven, the password proven with a step still to go (the
 * second factor, an enrolment, or a password change the directory asks for), or signed in. Only
 * `signed-in` is ever forwarded to Paperless as anyone.
 */
export type SignInLevel = 'anonymous' | 'password' | 'signed-in';

export type SignInState =
  | { level: 'anonymous' }
  | { level: 'password'; pending: PendingSignIn }
  | { level: 'signed-in'; user: SessionUser; createdAt: number; proof?: Proof };

/** The record's fields this module writes and reads; the rest (cookie, ip, …) belong to the store. */
type Record = Partial<SessionData>;

/**
 * What a stored record means. The sign-in pages and the request path both read records through
 * this one function, so they cannot disagree on who is signed in. Records written before the
 * level was stored (by an older replica during an upgrade) are read by their fields, as that
 * version read them; a level this version does not know, or one its fields contradict, is
 * anonymous: a record is never read as more than it proves.
 */
export function stateOf(record: Record | null | undefined, now: number): SignInState {
  if (!record) return { level: 'anonymous' };
  const level = record.level ?? (record.user ? 'signed-in' : record.pending ? 'password' : undefined);
  if (level === 'signed-in') {
    const { user, createdAt } = record;
    if (typeof user?.username !== 'string' || typeof createdAt !== 'number') return { level: 'anonymous' };
    return { level: 'signed-in', user, createdAt, ...(record.proof ? { proof: record.proof } : {}) };
  }
  if (level === 'password') {
    const pending = record.pending;
    if (!pending || record.user || typeof pending.startedAt !== 'number' || now - pending.startedAt > PENDING_MS || pending.startedAt - now > CLOCK_SKEW_MS) return { level: 'anonymous' };
    return { level: 'password', pending };
  }
  return { level: 'anonymous' };
}

/** The password is proven, a step is still to go: the record holds the half-done sign-in and no user. */
export function passwordProven(record: Record, pending: PendingSignIn): void {
  delete record.user;
  record.level = 'password';
  record.pending = pending;
}

export interface SignedIn {
  user: SessionUser;
  now: number;
  proof: Proof;
  /** "Remember me" was ticked: the session lasts this long, used or not. */
  rememberMs?: number | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** Every step is done: the record names the person, when, and how they proved it. */
export function signedIn(record: Record, entry: SignedIn): void {
  delete record.pending;
  record.level = 'signed-in';
  record.user = entry.user;
  record.proof = entry.proof;
  record.createdAt = entry.now;
  record.checkedAt = entry.now;
  if (entry.rememberMs !== undefined) record.rememberMs = entry.rememberMs;
  if (entry.ip) record.ip = entry.ip;
  if (entry.userAgent) record.userAgent = entry.userAgent.slice(0, 300);
}
