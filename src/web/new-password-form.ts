import { BadLoginRequestError } from './errors.js';

const MAX = 1024;

/**
 * The fields of a password change: the current password (unless the sign-in already proved it),
 * the new one and its repetition. Mismatches are caught here, before the directory is asked.
 */
export function readNewPassword(body: unknown, withCurrent: boolean): { current: string; next: string } {
  const fields = (body ?? {}) as Record<string, unknown>;
  const { current = '', new_password: next, new_password2: again } = fields;
  if ((withCurrent && (typeof current !== 'string' || current === '')) || typeof next !== 'string' || next === '' || typeof again !== 'string') {
    throw new BadLoginRequestError('password change fields missing', 'Enter your current password and the new one twice.');
  }
  if (typeof current !== 'string' || current.length > MAX || next.length > MAX) throw new BadLoginRequestError('password too long', 'That password is too long.');
  if (next !== again) throw new BadLoginRequestError('new passwords differ', 'The two new passwords do not match.');
  return { current, next };
}
