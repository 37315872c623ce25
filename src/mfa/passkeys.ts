import { randomBytes } from 'node:crypto';
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { GatewayError } from '../errors.js';
import type { RedisClient } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';
import { redisCall } from '../redis/errors.js';
import type { FactorRecord, StoredPasskey } from './factor-record.js';

const CHALLENGE_MS = 5 * 60_000;
const MAX_PER_PERSON = 10;

/** A passkey that could not be added: a bad name, too many, or the browser's answer did not verify. */
export class PasskeyRefusedError extends GatewayError {
  readonly status = 400;
}

export interface PasskeyConfig {
  /** The public URL's host name: passkeys are bound to it. */
  rpId: string;
  /** The public URL's origin, which the browser reports. */
  origin: string;
  /** The name authenticators show. */
  rpName: string;
}

/**
 * @simplewebauthn/server, loaded at the first ceremony rather than at start: it is the heaviest
 * library the gateway has (about half a second and 25 MB in each thread that loads it), and most
 * gateways never see a passkey. Node keeps the module once loaded, so later calls cost nothing.
 */
function webauthn(): Promise<typeof import('@simplewebauthn/server')> {
  return import('@simplewebauthn/server');
}

/** What the account page lists. */
export type PasskeyInfo = Pick<StoredPasskey, 'id' | 'name' | 'createdAt' | 'lastUsedAt'>;

/** What a passkey's answer is for: the second step of a sign-in, or the account page's step-up. */
export type PasskeyPurpose = 'sign-in' | 'step-up';

/** The challenges' names in Redis, one per purpose. */
const CEREMONIES: Record<PasskeyPurpose, string> = { 'sign-in': 'authenticate', 'step-up': 'step-up' };

/**
 * WebAuthn with @simplewebauthn/server: registration and assertion options whose challenge is
 * kept in Redis for one session and one ceremony and spent by the answer (getdel), so an answer
 * works once and only in the session that asked. The records themselves live in the person's
 * sealed record; SecondFactors applies them (store, regulation).
 */
export class PasskeyCeremonies {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<RedisKeys, 'webauthnChallenge'>,
    readonly config: PasskeyConfig,
  ) {}

  async registrationOptions(username: string, sid: string, record: FactorRecord | undefined): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { generateRegistrationOptions } = await webauthn();
    const options = await generateRegistrationOptions({
      rpName: this.config.rpName,
      rpID: this.config.rpId,
      userName: username,
      userID: randomBytes(16),
      attestationType: 'none',
      excludeCredentials: (record?.passkeys ?? []).map((p) => ({ id: p.id, ...(p.transports ? { transports: p.transports } : {}) })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    await this.keep('register', sid, options.challenge);
    return options;
  }

  /** Verifies a registration answer against the session's spent challenge; the new passkey, not yet stored. */
  async register(sid: string, name: string, response: RegistrationResponseJSON, now: number): Promise<StoredPasskey> {
    const challenge = await this.spend('register', sid);
    if (!challenge) throw new PasskeyRefusedError('no registration challenge for this session', 'This passkey setup took too long. Start again.');
    // Outside the try below: a library that fails to load is the gateway's fault, not the browser's answer.
    const { verifyRegistrationResponse } = await webauthn();
    let verified;
    try {
      verified = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: this.config.origin, expectedRPID: this.config.rpId, requireUserVerification: false });
    } catch (err) {
      throw new PasskeyRefusedError(`registration did not verify: ${(err as Error).message}`, 'Your browser’s answer could not be verified. Try again, or use another passkey.');
    }
    if (!verified.verified) throw new PasskeyRefusedError('registration not verified', 'Your browser’s answer could not be verified. Try again, or use another passkey.');
    const { credential } = verified.registrationInfo;
    return {
      id: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      ...(credential.transports ? { transports: credential.transports } : {}),
      name,
      createdAt: now,
    };
  }

  /**
   * `purpose`: at sign-in the passkey is the second factor beside the password, and a touch will do
   * (user verification preferred); as the step-up it stands alone, so the key's PIN or biometric is
   * required: a security key left plugged into an unlocked computer must not be enough. Each purpose
   * keeps its challenge apart, so an answer to one can never be spent on the other.
   */
  async authenticationOptions(sid: string, record: FactorRecord | undefined, purpose: PasskeyPurpose = 'sign-in'): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const { generateAuthenticationOptions } = await webauthn();
    const options = await generateAuthenticationOptions({
      rpID: this.config.rpId,
      allowCredentials: (record?.passkeys ?? []).map((p) => ({ id: p.id, ...(p.transports ? { transports: p.transports } : {}) })),
      userVerification: purpose === 'step-up' ? 'required' : 'preferred',
    });
    await this.keep(CEREMONIES[purpose], sid, options.challenge);
    return options;
  }

  /** The passkey an assertion proves, with its new counter; undefined when it does not verify. */
  async authenticate(sid: string, response: AuthenticationResponseJSON, record: FactorRecord | undefined, purpose: PasskeyPurpose = 'sign-in'): Promise<{ id: string; counter: number } | undefined> {
    const challenge = await this.spend(CEREMONIES[purpose], sid);
    const stored = record?.passkeys?.find((p) => p.id === response.id);
    if (!challenge || !stored) return undefined;
    // Outside the try below, which reads every failure as "no": a library that fails to load is an error, not a refusal.
    const { verifyAuthenticationResponse } = await webauthn();
    try {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.config.origin,
        expectedRPID: this.config.rpId,
        credential: { id: stored.id, publicKey: Buffer.from(stored.publicKey, 'base64url'), counter: stored.counter, ...(stored.transports ? { transports: stored.transports } : {}) },
        requireUserVerification: purpose === 'step-up',
      });
      return result.verified ? { id: stored.id, counter: result.authenticationInfo.newCounter } : undefined;
    } catch {
      // A cloned authenticator (counter went back), a wrong signature, origin or challenge: all just "no".
      return undefined;
    }
  }

  private keep(ceremony: string, sid: string, challenge: string): Promise<unknown> {
    return redisCall('second factors', 'cannot keep a passkey challenge', () => this.redis.set(this.keys.webauthnChallenge(ceremony, sid), challenge, 'PX', CHALLENGE_MS));
  }

  private async spend(ceremony: string, sid: string): Promise<string | undefined> {
    return (await redisCall('second factors', 'cannot read a passkey challenge', () => this.redis.getdel(this.keys.webauthnChallenge(ceremony, sid)))) ?? undefined;
  }
}

export { MAX_PER_PERSON as MAX_PASSKEYS };
