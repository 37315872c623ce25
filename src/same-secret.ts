import { timingSafeEqual } from 'node:crypto';

/** Whether a client's value equals a secret, compared in constant time (a header may be missing or repeated: then no). */
export function sameSecret(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
