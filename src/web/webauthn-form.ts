import { BadLoginRequestError } from './errors.js';

/**
 * The browser's WebAuthn answer, as webauthn.js posts it in a form field (JSON). Only its shape
 * is checked here; @simplewebauthn/server verifies everything else.
 */
export function credentialOf<T>(field: unknown): T {
  let parsed: unknown;
  try {
    parsed = typeof field === 'string' && field.length <= 12_000 ? JSON.parse(field) : undefined;
  } catch {
    parsed = undefined;
  }
  const ok = typeof parsed === 'object' && parsed !== null && typeof (parsed as Record<string, unknown>).id === 'string' && typeof (parsed as Record<string, unknown>).response === 'object';
  if (!ok) throw new BadLoginRequestError('passkey answer missing or malformed', 'Your browser sent no usable passkey answer. Try again.');
  return parsed as T;
}
