import { createHmac, hkdfSync } from 'node:crypto';

/**
 * The keys derived from GATEWAY_MFA_KEY, one per use (HKDF-SHA256), so a key that signs a
 * device cookie can never decrypt a factor, and the other way round.
 */
export class MfaKeys {
  /** AES-256-GCM key for the factors at rest. */
  readonly seal: Buffer;
  private readonly hashKey: Buffer;
  private readonly deviceKey: Buffer;

  constructor(master: Buffer) {
    const derive = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `paperless-ldap-gateway ${info}`, 32));
    this.seal = derive('factors v1');
    this.hashKey = derive('hashes v1');
    this.deviceKey = derive('remembered devices v1');
  }

  /**
   * A keyed hash for secrets the gateway only compares (recovery codes, app passwords, link
   * tokens): they are long random strings, so HMAC suffices where a password would need a slow
   * hash, and without the key a stolen store reveals nothing to test guesses against.
   */
  hash(purpose: string, value: string): string {
    return createHmac('sha256', this.hashKey).update(`${purpose}\0${value}`).digest('base64url');
  }

  /** Signs a remembered-device cookie's payload. */
  signDevice(payload: string): string {
    return createHmac('sha256', this.deviceKey).update(payload).digest('base64url');
  }
}
