import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import { accountStatus, type AccountStatus } from '../directory/account-status.js';
import type { Directory } from '../directory/directory.js';
import type { Provisioner } from './provisioner.js';

/**
 * Deactivations the re-check makes on its own in one re-check interval (per process); only those
 * that deactivated someone count. More people gone at once looks like a directory that stopped
 * seeing them (a service account that lost its rights, a wrong base) rather than people leaving:
 * the sync guards the same way. Past it the gateway still refuses them (sessions end, tokens are
 * refused); only Paperless's side waits for `sync --deprovision`.
 */
export const DEACTIVATIONS_PER_INTERVAL = 3;

export interface RecheckDeactivationGuard {
  intervalMs: number;
  clock?: Clock;
}

/**
 * The periodic re-check of an account (a session's or a Paperless token's), which also keeps
 * Paperless in step with the directory (free when nothing changed). Someone the directory no
 * longer lets in is deactivated in Paperless at once, so their token stops even on requests that
 * bypass the gateway, up to DEACTIVATIONS_PER_INTERVAL per interval. A provisioning failure is
 * logged and never changes the verdict: the directory, not Paperless, decides who may stay.
 */
export function refreshingAccountStatus(
  directory: Pick<Directory, 'lookup'>,
  allowedGroups: readonly string[],
  provisioner: Pick<Provisioner, 'provision' | 'deactivate'> | undefined,
  log: Logger,
  guard: RecheckDeactivationGuard,
): (username: string) => Promise<AccountStatus> {
  const clock = guard.clock ?? systemClock;
  let recent: Array<{ at: number }> = [];
  /** A place in this interval's allowance, taken before deactivating (re-checks run concurrently). */
  const takePlace = (): { at: number } | undefined => {
    const now = clock.now();
    recent = recent.filter((place) => now - place.at < guard.intervalMs);
    if (recent.length >= DEACTIVATIONS_PER_INTERVAL) return undefined;
    const place = { at: now };
    recent.push(place);
    return place;
  };
  // Given back when nothing was deactivated (never provisioned, already inactive, the token's user,
  // Paperless down): stale tokens of people long gone must not use up the allowance a new leaver needs.
  const giveBack = (place: { at: number }): void => {
    recent = recent.filter((taken) => taken !== place);
  };
  return async (username) => {
    const status = await accountStatus(directory, allowedGroups, username);
    if (status.active && provisioner) {
      await provisioner.provision(status.user).catch((err: unknown) => log.warn({ event: 'provisioning.failure', username, err: String(err) }, 'could not refresh Paperless user'));
    }
    if (!status.active && provisioner) {
      const place = takePlace();
      if (!place) {
        log.error(
          { event: 'provisioning.deactivation_held', username, reason: status.reason },
          `more than ${DEACTIVATIONS_PER_INTERVAL} people left the directory within one re-check interval: ${username} is refused by the gateway but stays active in Paperless. If the directory is right, run sync --deprovision; if not, check the service account and GATEWAY_LDAP_USER_BASE`,
        );
        return status;
      }
      const deactivated = await provisioner.deactivate(username).catch((err: unknown) => {
        log.error({ event: 'provisioning.deactivation_failed', username, err: String(err) }, 'could not deactivate the Paperless user the directory refused; their token keeps working in Paperless until it is');
        return false;
      });
      if (!deactivated) giveBack(place);
    }
    return status;
  };
}
