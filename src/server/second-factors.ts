import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { Regulation } from '../auth/regulation.js';
import type { Metrics } from '../ops/metrics.js';
import { AppPasswords } from '../mfa/app-passwords.js';
import { EnrolmentLinks } from '../mfa/enrolment-links.js';
import { FactorStore } from '../mfa/factor-store.js';
import { MfaKeys } from '../mfa/mfa-keys.js';
import { PasskeyCeremonies } from '../mfa/passkeys.js';
import { RememberedDevices } from '../mfa/remembered-device.js';
import { SecondFactors } from '../mfa/second-factors.js';
import type { RedisClient } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';

/** The second-factor parts, built from GATEWAY_MFA_*; undefined while it is off. */
export function secondFactorsFor(
  config: Config,
  redis: RedisClient,
  keys: RedisKeys,
  metrics: Pick<Metrics, 'secondFactors' | 'bans'>,
  log: Logger,
  changed?: (username: string) => Promise<void>,
): { secondFactors: SecondFactors; appPasswords: AppPasswords } | undefined {
  const { mfa } = config;
  if (mfa.mode === 'off' || !mfa.key) return undefined;
  const mfaKeys = new MfaKeys(mfa.key);
  const store = new FactorStore(redis, keys, mfaKeys.seal);
  const secondFactors = new SecondFactors({
    config: mfa,
    store,
    links: new EnrolmentLinks(redis, keys, mfaKeys, mfa.enrolmentLinkTtlMs),
    keys: mfaKeys,
    // Passkeys are bound to the public URL's host, and the browser reports its origin.
    passkeys: new PasskeyCeremonies(redis, keys, { rpId: config.server.publicUrl.hostname, origin: config.server.publicUrl.origin, rpName: mfa.issuer }),
    ...(mfa.rememberDeviceMs ? { devices: new RememberedDevices(mfaKeys, mfa.rememberDeviceMs) } : {}),
    // Same limits as passwords, counted apart: a wrong code is not a wrong password.
    regulation: new Regulation(redis, keys.secondFactorRegulation, config.regulation),
    metrics,
    now: Date.now,
    log,
    ...(changed ? { changed } : {}),
  });
  return { secondFactors, appPasswords: new AppPasswords(store, mfaKeys, Date.now, log) };
}
