import type { Logger } from 'pino';
import type { MfaConfig } from '../config/config.js';
import type { DirectoryUser } from '../directory/directory.js';
import type { Metrics } from '../ops/metrics.js';
import { BannedError, countFailure, type Regulation } from '../auth/regulation.js';
import { redisCall } from '../redis/errors.js';
import type { EnrolmentLinks } from './enrolment-links.js';
import { AlreadyEnrolledError, LastFactorError, EnrolmentExpiredError, EnrolmentLinkInvalidError, EnrolmentNotAllowedError, SecondFactorBannedError, SecondFactorInvalidError, SecondFactorRequiredError } from './errors.js';
import { emptyRecord, hasFactor, type FactorRecord } from './factor-record.js';
import type { Change, FactorStore } from './factor-store.js';
import type { MfaKeys } from './mfa-keys.js';
import { MAX_PASSKEYS, PasskeyRefusedError, type PasskeyCeremonies, type PasskeyInfo, type PasskeyPurpose } from './passkeys.js';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { requirementFor, type Requirement } from './mfa-policy.js';
import { qrSvg } from './qr-code.js';
import { looksLikeRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from './recovery-codes.js';
import type { RememberedDevices } from './remembered-device.js';
import { open, seal } from './sealed-box.js';
import { newTotpSecret, totpStep, totpUri } from './totp.js';

/** How long a QR code shown for enrolment may be confirmed. */
const ENROLMENT_MS = 15 * 60_000;

export interface SecondFactorsDeps {
  config: Pick<MfaConfig, 'mode' | 'requiredGroups' | 'enrolment' | 'issuer'>;
  store: FactorStore;
  links: EnrolmentLinks;
  keys: MfaKeys;
  /** Undefined when GATEWAY_MFA_REMEMBER_DEVICE is off. */
  devices?: RememberedDevices;
  passkeys: PasskeyCeremonies;
  /** The second step's own counters and bans (apart from the password's). */
  regulation: Pick<Regulation, 'check' | 'failed' | 'succeeded'>;
  metrics: Pick<Metrics, 'secondFactors' | 'bans'>;
  now: () => number;
  log: Logger;
  /**
   * A way in was added, replaced or removed (the app, a passkey, recovery codes, a reset): the
   * account page's step-up windows of every session of the person end (session/step-up.ts).
   * Called once the change is made: it logs its own failures and never rejects.
   */
  changed?: (username: string) => Promise<void>;
}

/** What sign-in does after the password: let the person in, ask for a code, or have them enrol. */
export type NextStep = { step: 'done'; remembered: boolean } | { step: 'verify' } | { step: 'enrol'; link?: string };

/** What the account page shows about a person's factors. */
export interface FactorStatus {
  requirement: Requirement;
  totpAddedAt?: number;
  passkeys: PasskeyInfo[];
  recoveryCodesLeft: number;
  recoveryCodesCreatedAt?: number;
}

/** A QR code to scan; `sealed` goes back with the confirming code (the secret is not kept server-side until then). */
export interface TotpEnrolment {
  secret: string;
  uri: string;
  qrSvg: string;
  sealed: string;
}

/**
 * Second factors, as every sign-in and the account page use them: the policy (who must), the
 * second step (a TOTP code, once, or a recovery code), enrolment, and the rules that keep a lost
 * store or a stolen password from ever turning into a password-only sign-in.
 */
export class SecondFactors {
  /**
   * People this process has seen with a factor. If their record then vanishes (Redis restarted
   * without persistence, or flushed, while the gateway ran), they are treated as required to use
   * one: a lost store must not turn anyone into a password-only user. A removal or `mfa reset`
   * leaves an empty record, which is not "vanished".
   */
  private readonly seenWithFactor = new Set<string>();

  constructor(private readonly deps: SecondFactorsDeps) {}

  get enabled(): boolean {
    return this.deps.config.mode !== 'off';
  }

  get remembersDevices(): boolean {
    return this.deps.devices !== undefined;
  }

  /**
   * Decides the step after a correct password. `firstSignIn` is asked only when it matters (a
   * required factor, none enrolled, enrolment at first sign-in allowed).
   */
  async nextStep(user: DirectoryUser, context: { deviceCookie?: string | undefined; enrolLink?: string | undefined; firstSignIn: () => Promise<boolean> }): Promise<NextStep> {
    const requirement = requirementFor(this.deps.config, user);
    if (requirement === 'none') return { step: 'done', remembered: false };
    const record = await this.record(user.username);
    if (hasFactor(record)) {
      const remembered = this.deps.devices?.remembers(context.deviceCookie, user.username, (record as FactorRecord).generation, this.deps.now()) ?? false;
      return remembered ? { step: 'done', remembered } : { step: 'verify' };
    }
    const lost = record === undefined && this.seenWithFactor.has(user.username);
    if (lost) this.deps.log.error({ event: 'mfa.store_lost', username: user.username }, 'the second factors of someone who had one are gone from Redis; they need an enrolment link');
    if (requirement === 'optional' && !lost) return { step: 'done', remembered: false };
    if (context.enrolLink !== undefined) {
      const owner = await redisCall('second factors', 'cannot read enrolment link', () => this.deps.links.owner(context.enrolLink as string));
      if (owner !== user.username) throw new EnrolmentLinkInvalidError(`enrolment link for ${owner ?? 'nobody'} used by ${user.username}`);
      return { step: 'enrol', link: context.enrolLink };
    }
    if (this.deps.config.enrolment === 'first-login' && (await context.firstSignIn())) return { step: 'enrol' };
    throw new EnrolmentNotAllowedError(user.username);
  }

  /**
   * For apps and scripts (/api/token/, Basic), which cannot answer a second step: refused for
   * whoever must use one or has one.
   */
  async requirePasswordOnly(user: DirectoryUser): Promise<void> {
    const requirement = requirementFor(this.deps.config, user);
    if (requirement === 'none') return;
    const record = await this.record(user.username);
    if (requirement === 'required' || hasFactor(record) || (record === undefined && this.seenWithFactor.has(user.username))) throw new SecondFactorRequiredError(user.username);
  }

  /**
   * Checks a code typed at the second step (TOTP or recovery code) and spends it; regulated.
   * `totpOnly`: a recovery code is refused unspent, as a wrong code (the account page's step-up).
   */
  async verify(username: string, typed: string, ip: string, options: { totpOnly?: boolean } = {}): Promise<'totp' | 'recovery'> {
    const method = looksLikeRecoveryCode(typed) && !options.totpOnly ? 'recovery' : 'totp';
    await this.regulated(username, ip, method, async () => {
      const spent = await this.update(username, async (record) => {
        if (method === 'recovery') {
          const hash = this.deps.keys.hash('recovery code', normalizeRecoveryCode(typed));
          if (!record.recoveryCodes.includes(hash)) return { result: false };
          return { record: { ...record, recoveryCodes: record.recoveryCodes.filter((c) => c !== hash) }, result: true };
        }
        if (!record.totp) return { result: false };
        const step = await totpStep(record.totp.secret, typed.trim(), this.deps.now(), record.totp.lastStep);
        if (step === undefined) return { result: false };
        return { record: { ...record, totp: { ...record.totp, lastStep: step } }, result: true };
      });
      if (!spent) throw new SecondFactorInvalidError(`wrong or spent ${method} code for ${username}`);
    });
    if (method === 'recovery') this.deps.log.warn({ event: 'mfa.recovery_code_used', username, ip }, 'a recovery code was used');
    return method;
  }

  /** A new secret and its QR code; nothing is stored until a code confirms it. */
  async beginTotp(username: string, boundTo: string): Promise<TotpEnrolment> {
    const secret = newTotpSecret();
    const uri = totpUri(secret, this.deps.config.issuer, username);
    const sealed = seal(this.deps.keys.seal, JSON.stringify({ secret, at: this.deps.now() }), `enrol ${username} ${boundTo}`);
    return { secret, uri, qrSvg: await qrSvg(uri), sealed };
  }

  /** The QR code of an enrolment begun earlier, shown again (after a wrong code). */
  async resumeTotp(username: string, boundTo: string, sealed: string): Promise<TotpEnrolment> {
    const secret = this.enrolmentSecret(username, boundTo, sealed);
    const uri = totpUri(secret, this.deps.config.issuer, username);
    return { secret, uri, qrSvg: await qrSvg(uri), sealed };
  }

  /** The secret of an enrolment begun for this person (and this binding) within the last 15 minutes. */
  enrolmentSecret(username: string, boundTo: string, sealed: string): string {
    let parsed: { secret?: unknown; at?: unknown };
    try {
      parsed = JSON.parse(open(this.deps.keys.seal, sealed, `enrol ${username} ${boundTo}`)) as typeof parsed;
    } catch (err) {
      throw new EnrolmentExpiredError(`enrolment form does not open for ${username}: ${(err as Error).message}`);
    }
    if (typeof parsed.secret !== 'string' || typeof parsed.at !== 'number' || this.deps.now() - parsed.at > ENROLMENT_MS) {
      throw new EnrolmentExpiredError(`enrolment form of ${username} expired`);
    }
    return parsed.secret;
  }

  /**
   * Stores a new authenticator once its first code is right (regulated like the second step), with
   * ten new recovery codes, which are returned to be shown once, and forgets every remembered device. `replace`: an existing app is
   * replaced (from the account page, after a code of the old one); otherwise it is an error.
   * `link`: the enrolment link that allowed this, spent here, so it works exactly once.
   */
  async confirmTotp(username: string, secret: string, typed: string, ip: string, options: { replace: boolean; link?: string }): Promise<string[]> {
    const codes = newRecoveryCodes();
    await this.regulated(username, ip, 'totp', async () => {
      const step = await totpStep(secret, typed.trim(), this.deps.now(), 0);
      if (step === undefined) throw new SecondFactorInvalidError(`wrong first code while enrolling ${username}`, 'That code is not right. Check that the time on your phone is correct, and enter the code the app shows now.');
      if (options.link !== undefined) {
        const spent = await redisCall('second factors', 'cannot spend enrolment link', () => this.deps.links.spend(options.link as string, username));
        if (!spent) throw new EnrolmentLinkInvalidError(`enrolment link of ${username} was spent meanwhile`);
      }
      await this.update(username, (record) => {
        if (record.totp && !options.replace) throw new AlreadyEnrolledError(username);
        const now = this.deps.now();
        // A new app starts a new generation: a device remembered before it (with the app it
        // replaces, or with one removed earlier) asks for the second factor again.
        return {
          record: { ...record, totp: { secret, lastStep: step, addedAt: now }, recoveryCodes: codes.map((c) => this.recoveryHash(c)), recoveryCodesCreatedAt: now, generation: emptyRecord().generation },
          result: undefined,
        };
      });
    });
    this.seenWithFactor.add(username);
    this.deps.log.info({ event: 'mfa.enrolled', username, method: 'totp', ip, replaced: options.replace, link: options.link !== undefined }, 'authenticator app enrolled');
    await this.changed(username);
    return codes;
  }

  /** Ten new recovery codes in place of the old ones. */
  async newRecoveryCodes(username: string): Promise<string[]> {
    const codes = newRecoveryCodes();
    await this.update(username, (record) => ({ record: { ...record, recoveryCodes: codes.map((c) => this.recoveryHash(c)), recoveryCodesCreatedAt: this.deps.now() }, result: undefined }));
    this.deps.log.info({ event: 'mfa.recovery_codes', username }, 'new recovery codes');
    await this.changed(username);
    return codes;
  }

  /**
   * Removes the authenticator app; remembered devices are forgotten (a new generation). Refused
   * when the policy requires a factor and this is the last one. Recovery codes go with the last factor.
   */
  async removeTotp(user: DirectoryUser): Promise<void> {
    await this.removeFactor(user, 'totp', (record) => {
      const { totp: _totp, ...rest } = record;
      return rest;
    });
  }

  /** Removes one passkey, on the same terms as the app. */
  async removePasskey(user: DirectoryUser, id: string): Promise<boolean> {
    return this.removeFactor(user, 'passkey', (record) => ({ ...record, passkeys: (record.passkeys ?? []).filter((p) => p.id !== id) }), (record) => record.passkeys?.some((p) => p.id === id) ?? false);
  }

  private async removeFactor(user: DirectoryUser, method: 'totp' | 'passkey', without: (record: FactorRecord) => FactorRecord, present: (record: FactorRecord) => boolean = () => true): Promise<boolean> {
    const required = requirementFor(this.deps.config, user) === 'required';
    const removed = await this.update(user.username, (record) => {
      if (!present(record)) return { result: false };
      const after = without(record);
      if (required && !hasFactor(after)) throw new LastFactorError(user.username);
      // App passwords stay: they are not a factor, and the person's apps should keep working.
      const kept = hasFactor(after) ? after : { ...after, recoveryCodes: [] };
      return { record: { ...kept, generation: emptyRecord().generation }, result: true };
    });
    if (removed) {
      this.deps.log.warn({ event: 'mfa.removed', username: user.username, method }, 'second factor removed');
      await this.changed(user.username);
    }
    return removed;
  }

  /** Options for adding a passkey, for this session; the challenge is kept until answered. */
  async passkeyRegistrationOptions(username: string, sid: string) {
    return this.deps.passkeys.registrationOptions(username, sid, await this.record(username));
  }

  /**
   * Stores a passkey the browser made (verified against the session's challenge). When it is the
   * person's first factor, ten recovery codes come with it, returned to be shown once.
   */
  async addPasskey(username: string, sid: string, name: string, response: RegistrationResponseJSON, ip: string): Promise<string[] | undefined> {
    const trimmed = name.trim();
    if (trimmed === '' || trimmed.length > 60) throw new PasskeyRefusedError(`passkey name of ${trimmed.length} characters`, 'Give the passkey a name of 1 to 60 characters, such as the device or key it is on.');
    const passkey = await this.deps.passkeys.register(sid, trimmed, response, this.deps.now());
    const codes = newRecoveryCodes();
    const first = await this.update(username, (record) => {
      const existing = record.passkeys ?? [];
      if (existing.length >= MAX_PASSKEYS) throw new PasskeyRefusedError('too many passkeys', 'You have 10 passkeys already. Remove one you no longer use first.');
      if (existing.some((p) => p.id === passkey.id)) throw new PasskeyRefusedError('passkey registered twice', 'This passkey is set up already.');
      const isFirst = !hasFactor(record);
      // A first factor starts a new generation too (see confirmTotp); one more passkey beside a
      // factor still in use leaves the devices remembered with that factor alone.
      const withCodes = isFirst ? { recoveryCodes: codes.map((c) => this.recoveryHash(c)), recoveryCodesCreatedAt: this.deps.now(), generation: emptyRecord().generation } : {};
      return { record: { ...record, ...withCodes, passkeys: [...existing, passkey] }, result: isFirst };
    });
    this.seenWithFactor.add(username);
    this.deps.log.info({ event: 'mfa.enrolled', username, method: 'passkey', name: trimmed, ip }, 'passkey added');
    await this.changed(username);
    return first ? codes : undefined;
  }

  /** Options for signing in (or confirming it's them) with one of the person's passkeys; undefined when they have none. */
  async passkeyOptions(username: string, sid: string, purpose: PasskeyPurpose = 'sign-in') {
    const record = await this.record(username);
    return record?.passkeys?.length ? this.deps.passkeys.authenticationOptions(sid, record, purpose) : undefined;
  }

  /** The second step (or the step-up) with a passkey: the session's challenge, a known credential, a valid signature; regulated. */
  async verifyPasskey(username: string, sid: string, response: AuthenticationResponseJSON, ip: string, purpose: PasskeyPurpose = 'sign-in'): Promise<'passkey'> {
    await this.regulated(username, ip, 'passkey', async () => {
      const proven = await this.deps.passkeys.authenticate(sid, response, await this.record(username), purpose);
      if (!proven) throw new SecondFactorInvalidError(`passkey answer of ${username} did not verify`, 'That passkey could not be verified. Try again, or enter a code.');
      const now = this.deps.now();
      await this.update(username, (record) => ({
        record: { ...record, passkeys: (record.passkeys ?? []).map((p) => (p.id === proven.id ? { ...p, counter: Math.max(p.counter, proven.counter), lastUsedAt: now } : p)) },
        result: undefined,
      }));
    });
    return 'passkey';
  }

  /** `mfa reset USER`: every factor and remembered device forgotten; true when there was a factor. */
  async reset(username: string): Promise<boolean> {
    const had = await redisCall('second factors', 'cannot reset second factors', () => this.deps.store.reset(username));
    this.deps.log.warn({ event: 'mfa.reset', username, hadFactor: had }, 'second factors reset');
    await this.changed(username);
    return had;
  }

  /** The change is made; the hook logs its own failures (a Redis fault must not undo the change). */
  private async changed(username: string): Promise<void> {
    await this.deps.changed?.(username);
  }

  async status(user: DirectoryUser): Promise<FactorStatus> {
    const record = await this.record(user.username);
    return {
      requirement: requirementFor(this.deps.config, user),
      ...(record?.totp ? { totpAddedAt: record.totp.addedAt } : {}),
      passkeys: (record?.passkeys ?? []).map(({ id, name, createdAt, lastUsedAt }) => ({ id, name, createdAt, ...(lastUsedAt ? { lastUsedAt } : {}) })),
      recoveryCodesLeft: record?.recoveryCodes.length ?? 0,
      ...(record?.recoveryCodesCreatedAt ? { recoveryCodesCreatedAt: record.recoveryCodesCreatedAt } : {}),
    };
  }

  /** A "remember this device" cookie value for the person's current generation. */
  async rememberDevice(username: string): Promise<string | undefined> {
    const devices = this.deps.devices;
    const record = await this.record(username);
    return devices && record ? devices.issue(username, record.generation, this.deps.now()) : undefined;
  }

  private async record(username: string): Promise<FactorRecord | undefined> {
    const record = await redisCall('second factors', 'cannot read second factors', () => this.deps.store.get(username));
    if (hasFactor(record)) this.seenWithFactor.add(username);
    return record;
  }

  private update<T>(username: string, change: (record: FactorRecord) => Change<T> | Promise<Change<T>>): Promise<T> {
    return redisCall('second factors', 'cannot store second factors', () => this.deps.store.update(username, change));
  }

  private recoveryHash(code: string): string {
    return this.deps.keys.hash('recovery code', normalizeRecoveryCode(code));
  }

  /** Runs a code check under the second step's regulation: banned first, failures counted, metrics and audit. */
  private async regulated(username: string, ip: string, method: 'totp' | 'recovery' | 'passkey', check: () => Promise<void>): Promise<void> {
    const { regulation, metrics, log } = this.deps;
    try {
      await redisCall('regulation', 'second-step attempts', () => regulation.check(username, ip));
    } catch (err) {
      if (!(err instanceof BannedError)) throw err;
      metrics.secondFactors.inc({ outcome: 'banned', method });
      throw new SecondFactorBannedError(err.message, err.retryAfterSeconds);
    }
    try {
      await check();
    } catch (err) {
      if (err instanceof SecondFactorInvalidError) {
        metrics.secondFactors.inc({ outcome: 'invalid', method });
        await countFailure(regulation, username, ip, { metrics, log, step: 'second-factor' });
      }
      throw err;
    }
    metrics.secondFactors.inc({ outcome: 'success', method });
    await redisCall('regulation', 'second-step attempts', () => regulation.succeeded(username, ip));
  }
}
