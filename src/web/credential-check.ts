import type { Logger } from 'pino';
import { isAllowed } from '../directory/allowed-groups.js';
import type { Directory, DirectoryUser } from '../directory/directory.js';
import { NotAllowedError } from '../directory/errors.js';
import { GatewayError } from '../errors.js';
import { PaperlessApiError } from '../provisioning/errors.js';
import type { Provisioner } from '../provisioning/provisioner.js';

export interface CredentialCheckDeps {
  directory: Directory;
  allowedGroups: readonly string[];
  provisioner?: Provisioner;
  provisioningFailure: 'deny' | 'allow';
  log: Logger;
}

/**
 * What every way of signing in shares (the form, the apps' /api/token/, Basic
 * auth): the directory checks the password, the allowed groups admit the
 * person, and Paperless is made to match before anything is forwarded.
 */
export class CredentialCheck {
  constructor(private readonly deps: CredentialCheckDeps) {}

  async verify(username: string, password: string): Promise<DirectoryUser> {
    const user = await this.deps.directory.authenticate(username, password);
    this.requireAllowedGroup(user);
    await this.provision(user);
    return user;
  }

  private requireAllowedGroup(user: DirectoryUser): void {
    if (!isAllowed(user, this.deps.allowedGroups)) throw new NotAllowedError(user.username);
  }

  private async provision(user: DirectoryUser): Promise<void> {
    const { provisioner, provisioningFailure, log } = this.deps;
    if (!provisioner) return;
    try {
      await provisioner.provision(user);
    } catch (err) {
      const error = err instanceof GatewayError ? err : new PaperlessApiError(`provisioning failed: ${String(err)}`, undefined, { cause: err });
      log.error({ event: 'provisioning.failure', username: user.username, err: error.message, policy: provisioningFailure }, 'could not provision user');
      // allow: the person gets in with whatever Paperless has; the next sign-in tries again.
      if (provisioningFailure === 'deny') throw error;
    }
  }
}
