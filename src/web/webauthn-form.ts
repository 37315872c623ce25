import { isIP } from 'node:net';
import { BadLoginRequestError } from './errors.js';

/**
 * Whether browsers make passkeys for this site at all: WebAuthn binds them to a host name (never
 * an IP address) and needs a secure context (https, or localhost). Elsewhere the gateway does not
 * offer them, rather than let the browser fail with a message that blames the person.
 */
export function passkeysWorkAt(publicUrl: URL): boolean {
  const host = publicUrl.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return false;
  return publicUrl.protocol === 'https:' || host === 'localhost' || host.endsWith('.localhost');
}

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
