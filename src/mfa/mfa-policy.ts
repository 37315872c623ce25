import type { MfaConfig } from '../config/config.js';
import { isAllowed } from '../directory/allowed-groups.js';
import type { DirectoryUser } from '../directory/directory.js';

/** What the policy asks of one person: nothing, a second factor if they have one, or one always. */
export type Requirement = 'none' | 'optional' | 'required';

/** GATEWAY_MFA and GATEWAY_MFA_REQUIRED_GROUPS, applied to a person's current groups. */
export function requirementFor(config: Pick<MfaConfig, 'mode' | 'requiredGroups'>, user: DirectoryUser): Requirement {
  if (config.mode === 'off') return 'none';
  if (config.mode === 'required') return 'required';
  return config.requiredGroups.length > 0 && isAllowed(user, config.requiredGroups) ? 'required' : 'optional';
}
