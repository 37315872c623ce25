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
  /**
   * Random, and new with every record and every reset: a remembered device is signed for one
   * generation, so a reset (or a record lost and made again) forgets every remembered device.
   */
  generation: string;
}

export function emptyRecord(): FactorRecord {
  return { recoveryCodes: [], generation: randomBytes(12).toString('base64url') };
}

/** Whether the person has a factor they can sign in with (recovery codes alone are a way back in, not a factor). */
export function hasFactor(record: FactorRecord | undefined): boolean {
  return record?.totp !== undefined;
}

/** Reads a record from JSON, refusing shapes this version does not know rather than guessing. */
export function parseRecord(json: string): FactorRecord {
  const raw = JSON.parse(json) as Partial<FactorRecord>;
  if (!Array.isArray(raw.recoveryCodes) || typeof raw.generation !== 'string') throw new Error('factor record has an unknown shape');
  return raw as FactorRecord;
}
