import type { Logger } from 'pino';
import { accountStatus, type AccountStatus } from '../directory/account-status.js';
import type { Directory } from '../directory/directory.js';
import type { Provisioner } from './provisioner.js';

/**
 * The periodic re-check of an account (a session's or a Paperless token's), which also keeps
 * Paperless in step with the directory (free when nothing changed). Someone the directory no
 * longer lets in is deactivated in Paperless at once, so their token stops even on requests that
 * bypass the gateway. A provisioning failure is logged and never changes the verdict: the
 * directory, not Paperless, decides who may stay.
 */
export function refreshingAccountStatus(directory: Directory, allowedGroups: readonly string[], provisioner: Provisioner | undefined, log: Logger): (username: string) => Promise<AccountStatus> {
  return async (username) => {
    const status = await accountStatus(directory, allowedGroups, username);
    if (status.active && provisioner) {
      await provisioner.provision(status.user).catch((err: unknown) => log.warn({ event: 'provisioning.failure', username, err: String(err) }, 'could not refresh Paperless user'));
    }
    if (!status.active && provisioner) {
      await provisioner.deactivate(username).catch((err: unknown) => log.error({ event: 'provisioning.deactivation_failed', username, err: String(err) }, 'could not deactivate the Paperless user the directory refused; their token keeps working in Paperless until it is'));
    }
    return status;
  };
}
