import { randomBytes } from 'node:crypto';

/** One person's second factors, as sealed in the store. */
export interface FactorRecord {
  totp?: {
    /** Base32, as authenticator apps take it. */
    secret: string;
    /** The last time step a code was accepted for: codes of that step or earlier are spent. */
    lastStep: number;
    addedAt: number;
  };
  /** Keyed hashes of the unused recovery codes. */
  recoveryCodes: string[];
  recoveryCodesCreatedAt?: number;
  /** WebAuthn credentials (passkeys, security keys): each is a second factor of its own. */
  passkeys?: StoredPasskey[];
  /** Passwords for apps and scripts, which cannot answer a second step (keyed hashes only). */
  appPasswords?: AppPassword[];
  /**
   * Random, and new with every record, every reset and every change of factor but one more
   * passkey: a remembered device is signed for one generation, so a reset, a replaced or removed
   * factor (or a record lost and made again) forgets every remembered device.
   */
  generation: string;
}

export interface StoredPasskey {
  /** The credential id, base64url. */
  id: string;
  /** COSE public key, base64url. */
  publicKey: string;
  /** The signature counter last seen (0 for authenticators that keep none). */
  counter: number;
  transports?: string[];
  name: string;
  createdAt: number;
  lastUsedAt?: number;
}

export interface AppPassword {
  id: string;
  name: string;
  hash: string;
  createdAt: number;
  /** Updated at most hourly: a write per API request would cost more than it tells. */
  lastUsedAt?: number;
  /** It signed an app in at /api/token/, which handed out the person's Paperless token. */
  signedInApp?: boolean;
}

export function emptyRecord(): FactorRecord {
  return { recoveryCodes: [], generation: randomBytes(12).toString('base64url') };
}

/** Whether the person has a factor they can sign in with (recovery codes alone are a way back in, not a factor). */
export function hasFactor(record: FactorRecord | undefined): boolean {
  return record?.totp !== undefined || (record?.passkeys?.length ?? 0) > 0;
}

/** Reads a record from JSON, refusing shapes this version does not know rather than guessing. */
export function parseRecord(json: string): FactorRecord {
  const raw = JSON.parse(json) as Partial<FactorRecord>;
  if (!Array.isArray(raw.recoveryCodes) || typeof raw.generation !== 'string') throw new Error('factor record has an unknown shape');
  return raw as FactorRecord;
}
