import { createHmac } from 'node:crypto';

/**
 * RFC 6238 written out here, apart from the gateway's otplib: a test that computed codes with
 * the gateway's own code could not catch a wrong implementation.
 */
function base32(secret: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The 6-digit code of `secret` for the 30-second step `offset` steps from now. */
export function totp(secret: string, offset = 0, nowMs = Date.now()): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(nowMs / 30_000) + offset));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const at = (mac[mac.length - 1] as number) & 0xf;
  const value = (mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

/** The secret an enrolment page shows as text (in groups of four, as a person types it; the copy button's value whole). */
export function secretOn(page: string): string {
  const match = /id="totp-secret" data-value="([A-Z2-7]+)">([A-Z2-7 ]+)</.exec(page);
  if (!match) throw new Error('no TOTP secret on the page');
  const [, whole, shown] = match as unknown as [string, string, string];
  if (shown.replaceAll(' ', '') !== whole || !/^([A-Z2-7]{4} )*[A-Z2-7]{1,4}$/.test(shown)) throw new Error(`the key shown (${shown}) is not the copied one (${whole}) in groups of four`);
  return whole;
}

/** The hidden fields a form on the page carries. */
export function fieldsOn<K extends string>(page: string, names: K[]): Record<K, string> {
  return Object.fromEntries(
    names.map((n) => {
      const value = new RegExp(`name="${n}" value="([^"]*)"`).exec(page)?.[1];
      if (value === undefined) throw new Error(`no ${n} field on the page`);
      return [n, value];
    }),
  ) as Record<K, string>;
}
