import { generateSecret, generateURI, verify } from 'otplib';

/** RFC 6238 as authenticator apps use it: SHA-1, 6 digits, 30-second steps. */
const PERIOD_S = 30;

export function newTotpSecret(): string {
  return generateSecret();
}

/** The otpauth:// URI the QR code carries. */
export function totpUri(secret: string, issuer: string, account: string): string {
  return generateURI({ issuer, label: account, secret });
}

/**
 * The time step a code belongs to, when it is right for now or one step either side (clock
 * drift) and later than `afterStep` (a code is good once); undefined otherwise.
 */
export async function totpStep(secret: string, code: string, nowMs: number, afterStep: number): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const result = await verify({ secret, token: code, epoch: Math.floor(nowMs / 1000), epochTolerance: PERIOD_S, ...(afterStep > 0 ? { afterTimeStep: afterStep } : {}) });
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}
