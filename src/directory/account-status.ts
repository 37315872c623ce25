import { isAllowed } from './allowed-groups.js';
import type { Directory, DirectoryUser } from './directory.js';

export type AccountStatus = { active: true; user: DirectoryUser } | { active: false; reason: string };

/**
 * Whether a signed-in user may stay signed in: still found by the user filter
 * (presets exclude disabled accounts there) and still in an allowed group.
 * Throws DirectoryUnavailableError when the directory cannot tell.
 */
export async function accountStatus(directory: Pick<Directory, 'lookup'>, allowedGroups: readonly string[], username: string): Promise<AccountStatus> {
  const user = await directory.lookup(username);
  if (!user) return { active: false, reason: 'no longer found in the directory (deleted or disabled)' };
  if (!isAllowed(user, allowedGroups)) return { active: false, reason: 'no longer in an allowed group' };
  return { active: true, user };
}
