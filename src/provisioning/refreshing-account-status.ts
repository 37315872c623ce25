import type { Logger } from 'pino';
import { accountStatus, type AccountStatus } from '../directory/account-status.js';
import type { Directory } from '../directory/directory.js';
import type { Provisioner } from './provisioner.js';

/**
 * The periodic re-check of a signed-in account, which also keeps Paperless in step with the
 * directory (free when nothing changed). A provisioning failure is logged and never signs
 * anyone out: the directory, not Paperless, decides who may stay.
 */
export function refreshingAccountStatus(directory: Directory, allowedGroups: readonly string[], provisioner: Provisioner | undefined, log: Logger): (username: string) => Promise<AccountStatus> {
  return async (username) => {
    const status = await accountStatus(directory, allowedGroups, username);
    if (status.active && provisioner) {
      await provisioner.provision(status.user).catch((err: unknown) => log.warn({ event: 'provisioning.failure', username, err: String(err) }, 'could not refresh Paperless user'));
    }
    return status;
  };
}
