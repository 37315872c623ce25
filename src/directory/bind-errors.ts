import { InvalidCredentialsError as LdapInvalidCredentials } from 'ldapts';
import type { GatewayError } from '../errors.js';
import { AccountRestrictedError, DirectoryUnavailableError, InvalidCredentialsError } from './errors.js';

/**
 * Active Directory explains a refused bind with a sub-code (`data 52e` …).
 * Codes AD only reports once the password was right become clear messages;
 * the rest stay "wrong username or password", which tells a stranger nothing.
 */
const AD_SUBCODES: Record<string, { reason: string; message?: string }> = {
  '525': { reason: 'user not found' },
  '52e': { reason: 'wrong password' },
  '530': { reason: 'not permitted to log on at this time', message: 'Your account may not sign in at this time of day.' },
  '531': { reason: 'not permitted to log on from this workstation', message: 'Your account may not sign in from here.' },
  '532': { reason: 'password expired', message: 'Your password has expired. Change it, then sign in again.' },
  '533': { reason: 'account disabled', message: 'Your account is disabled. Ask your administrator.' },
  '701': { reason: 'account expired', message: 'Your account has expired. Ask your administrator.' },
  '773': { reason: 'password must be changed', message: 'You must change your password before you can sign in.' },
  // AD reports a lockout whatever password was given, so saying so would confirm the account exists.
  '775': { reason: 'account locked out' },
};

export function adSubcode(err: unknown): string | undefined {
  const text = err instanceof Error ? err.message : String(err);
  return /\bdata ([0-9a-f]{3,4})\b/i.exec(text)?.[1]?.toLowerCase();
}

/**
 * AD refused a bind whose password was right because it must be changed first: "must change at
 * next logon" (773) or expired (532). Undefined for any other refusal.
 */
export function adPasswordChangeReason(err: unknown): 'must-change' | 'expired' | undefined {
  const code = adSubcode(err);
  return code === '773' ? 'must-change' : code === '532' ? 'expired' : undefined;
}

/** Turns a failed bind as the user into the error the person at the form should see. */
export function userBindError(err: unknown, dn: string): GatewayError {
  if (err instanceof DirectoryUnavailableError) return err;
  if (!(err instanceof LdapInvalidCredentials)) return new DirectoryUnavailableError(`user bind failed: ${String(err)}`, { cause: err });
  const code = adSubcode(err);
  const known = code === undefined ? undefined : AD_SUBCODES[code];
  if (known?.message) return new AccountRestrictedError(`bind refused for ${dn}: ${known.reason} (data ${code})`, known.message);
  return new InvalidCredentialsError(`bind refused for ${dn}: ${known?.reason ?? 'invalid credentials'}${code ? ` (data ${code})` : ''}`);
}
