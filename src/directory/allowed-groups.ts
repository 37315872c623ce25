import type { DirectoryUser } from './directory.js';
import { sameDn } from './dn.js';

/** An empty list allows everyone; entries are group names or DNs, matched case-insensitively. */
export function isAllowed(user: DirectoryUser, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((entry) =>
    entry.includes('=')
      ? user.groups.some((g) => sameDn(g.dn, entry))
      : user.groups.some((g) => g.name.toLowerCase() === entry.toLowerCase()),
  );
}
