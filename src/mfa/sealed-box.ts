import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { GatewayError } from '../errors.js';

const VERSION = 'v1';

/** A sealed value could not be opened: the wrong key (GATEWAY_MFA_KEY changed) or tampering. */
export class SealBrokenError extends GatewayError {
  readonly status = 500;
  constructor(detail: string) {
    super(detail, 'Second factors cannot be read: GATEWAY_MFA_KEY is not the key they were stored with. Tell your administrator.');
  }
}

/**
 * AES-256-GCM with a fresh 96-bit nonce per value. `context` (the owner's name) is bound as
 * associated data, so a sealed record copied to another person's key does not open there.
 */
export function seal(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

export function open(key: Buffer, sealed: string, context: string): string {
  const [version, iv, tag, body] = sealed.split('.');
  if (version !== VERSION || iv === undefined || tag === undefined || body === undefined) throw new SealBrokenError(`not a sealed value (${version ?? 'empty'})`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new SealBrokenError(`cannot open a sealed value for ${context}: ${(err as Error).message}`);
  }
}
