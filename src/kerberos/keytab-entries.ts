import { GatewayError } from '../errors.js';

/** One key of a keytab: whose, which version, which encryption type. */
export interface KeytabEntry {
  /** The name's components (`HTTP`, `paperless.example.com`). */
  components: string[];
  realm: string;
  kvno: number;
  enctype: number;
}

export class KeytabFormatError extends GatewayError {
  readonly status = 500;
  constructor(reason: string) {
    super(`the keytab cannot be read: ${reason}; export it again (ktpass, or samba-tool domain exportkeytab)`, 'Signing in with Kerberos is not available on this gateway. Sign in with your password.');
  }
}

/** RFC 3961/8009 and MIT's numbers for the types a keytab names. */
const ENCTYPE_NAMES: Record<number, string> = {
  1: 'des-cbc-crc',
  2: 'des-cbc-md4',
  3: 'des-cbc-md5',
  16: 'des3-cbc-sha1',
  17: 'aes128-cts-hmac-sha1-96',
  18: 'aes256-cts-hmac-sha1-96',
  19: 'aes128-cts-hmac-sha256-128',
  20: 'aes256-cts-hmac-sha384-192',
  23: 'arcfour-hmac',
  24: 'arcfour-hmac-exp',
  25: 'camellia128-cts-cmac',
  26: 'camellia256-cts-cmac',
};

/** Single DES and export RC4: MIT Kerberos decrypts no ticket with them. */
const UNUSABLE = new Set([1, 2, 3, 24]);
/** Still accepted, but Active Directory and MIT are retiring them: AES keys should be beside them. */
const WEAK = new Set([16, 23]);

export function enctypeName(enctype: number): string {
  return ENCTYPE_NAMES[enctype] ?? `enctype ${enctype}`;
}

/** Whether MIT's acceptor can decrypt a ticket with a key of this type: `no`, `weak`, or `yes`. */
export function enctypeUsable(enctype: number): 'no' | 'weak' | 'yes' {
  if (UNUSABLE.has(enctype) || ENCTYPE_NAMES[enctype] === undefined) return 'no';
  return WEAK.has(enctype) ? 'weak' : 'yes';
}

/**
 * The keys of an MIT keytab file (format 0x0502, the one ktpass, samba-tool and ktutil write):
 * each entry is a length, the principal, a timestamp, the key version and the key. Read only to
 * tell an admin which keys it holds (check-config, the start); GSSAPI reads it for the tickets.
 */
export function keytabEntries(bytes: Buffer): KeytabEntry[] {
  if (bytes.length < 2 || bytes[0] !== 5 || bytes[1] !== 2) throw new KeytabFormatError(bytes.length < 2 ? 'it is empty' : `it is not an MIT keytab of version 0x0502 (starts with 0x${bytes.subarray(0, 2).toString('hex')})`);
  const entries: KeytabEntry[] = [];
  let at = 2;
  while (at + 4 <= bytes.length) {
    const size = bytes.readInt32BE(at);
    at += 4;
    if (size === 0) break;
    // A hole left by a removed key.
    if (size < 0) {
      at += -size;
      continue;
    }
    const end = at + size;
    if (end > bytes.length) throw new KeytabFormatError(`an entry runs past the end of the file at byte ${at}`);
    let p = at;
    const need = (n: number) => {
      if (p + n > end) throw new KeytabFormatError(`an entry at byte ${at} is cut short`);
    };
    const counted = (): Buffer => {
      need(2);
      const length = bytes.readUInt16BE(p);
      need(2 + length);
      const value = bytes.subarray(p + 2, p + 2 + length);
      p += 2 + length;
      return value;
    };
    need(2);
    const count = bytes.readUInt16BE(p);
    p += 2;
    const realm = counted().toString('utf8');
    const components: string[] = [];
    for (let i = 0; i < count; i += 1) components.push(counted().toString('utf8'));
    need(4 + 4 + 1 + 2);
    p += 4 + 4; // name type, timestamp
    let kvno = bytes.readUInt8(p);
    p += 1;
    const enctype = bytes.readUInt16BE(p);
    p += 2;
    counted(); // the key itself
    // A 32-bit version after the key, when there is room, replaces the 8-bit one (which wraps at 255).
    if (end - p >= 4) {
      const kvno32 = bytes.readUInt32BE(p);
      if (kvno32 !== 0) kvno = kvno32;
    }
    entries.push({ components, realm, kvno, enctype });
    at = end;
  }
  return entries;
}

/** The keys of the service principal (`HTTP/host`, any realm; the host as DNS compares it). */
export function serviceKeys(entries: readonly KeytabEntry[], servicePrincipal: string): KeytabEntry[] {
  const [name = '', host = ''] = servicePrincipal.replace(/@[^@]*$/, '').split('/');
  return entries.filter((e) => e.components.length === 2 && e.components[0] === name && (e.components[1] ?? '').toLowerCase() === host.toLowerCase());
}

export interface KeytabVerdict {
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  /** What to do, when not ok. */
  fix?: string;
}

/**
 * Whether the keytab can decrypt tickets for the service: a key of the principal, in its realm (the
 * principal's own, or the one allowed), of a type MIT Kerberos still decrypts with. Only weak types
 * (RC4, triple DES) is a warning: Active Directory issues AES tickets once the service account says
 * it supports AES, and a keytab without AES keys then decrypts none.
 */
export function judgeKeytab(bytes: Buffer, servicePrincipal: string, realm: string): KeytabVerdict {
  let entries: KeytabEntry[];
  try {
    entries = keytabEntries(bytes);
  } catch (err) {
    if (err instanceof KeytabFormatError) return { status: 'fail', detail: err.message, fix: 'export the keytab again, as a file (not converted to text), and give it as GATEWAY_KERBEROS_KEYTAB_FILE or base64 -w0 of it as GATEWAY_KERBEROS_KEYTAB' };
    throw err;
  }
  const wanted = servicePrincipal.includes('@') ? servicePrincipal : `${servicePrincipal}@${realm}`;
  const wantedRealm = wanted.slice(wanted.lastIndexOf('@') + 1);
  const named = (e: KeytabEntry) => `${e.components.join('/')}@${e.realm}`;
  const exportKeys = `export the keys of ${wanted} (ktpass -princ ${wanted} ... -crypto AES256-SHA1, or samba-tool domain exportkeytab --principal=${servicePrincipal.replace(/@.*$/, '')}), and check with klist -k -e`;
  const aes = `let the service account use AES (AD: tick "This account supports Kerberos AES 256 bit encryption"), then ${exportKeys}`;
  const keys = serviceKeys(entries, servicePrincipal);
  if (keys.length === 0) return { status: 'fail', detail: `the keytab holds no key of ${wanted} (it holds ${[...new Set(entries.map(named))].join(', ') || 'no keys'})`, fix: `${exportKeys}, or set GATEWAY_KERBEROS_SERVICE_PRINCIPAL to the principal it holds` };
  const inRealm = keys.filter((k) => k.realm === wantedRealm);
  // GSSAPI accepts for the host in any realm the keytab names: that realm's KDC could then issue a
  // ticket naming anyone of the allowed realm.
  const foreign = [...new Set(keys.filter((k) => k.realm !== wantedRealm).map(named))];
  if (inRealm.length > 0 && foreign.length > 0) return { status: 'fail', detail: `the keytab also holds ${foreign.join(', ')}: a ticket that realm's KDC issues could name anyone of ${wantedRealm}`, fix: `${exportKeys}, alone, into a keytab of its own` };
  if (entries.some((e) => e.components[0] === 'krbtgt')) return { status: 'fail', detail: 'the keytab holds krbtgt keys, with which anyone who reads it can make tickets for the whole domain', fix: `${exportKeys}, alone, into a keytab of its own, and change the krbtgt password twice` };
  if (inRealm.length === 0) return { status: 'fail', detail: `the keytab's keys of ${servicePrincipal} are for ${[...new Set(keys.map((k) => k.realm))].join(', ')}, not ${wantedRealm}`, fix: `${exportKeys}, or set GATEWAY_KERBEROS_REALMS to the realm of the people who sign in` };
  const usable = inRealm.filter((k) => enctypeUsable(k.enctype) !== 'no');
  const types = (list: readonly KeytabEntry[]) => [...new Set(list.map((k) => enctypeName(k.enctype)))].join(', ');
  if (usable.length === 0) return { status: 'fail', detail: `the keytab's keys of ${wanted} are all of types MIT Kerberos no longer decrypts with (${types(inRealm)}): export AES keys`, fix: aes };
  const newest = Math.max(...usable.map((k) => k.kvno));
  const current = usable.filter((k) => k.kvno === newest);
  const detail = `the keytab holds ${wanted}, key version ${newest}: ${types(current)}`;
  if (current.every((k) => enctypeUsable(k.enctype) === 'weak')) return { status: 'warn', detail: `${detail}; no AES key: once the service account supports AES, tickets come AES-encrypted and none is accepted`, fix: aes };
  // Keys the gateway never uses are keys it need not hold: whoever reads the file has them too.
  const others = [...new Set(entries.filter((e) => !keys.includes(e)).map(named))];
  if (others.length > 0) return { status: 'warn', detail: `${detail}; it also holds keys of ${others.join(', ')}, which the gateway does not use`, fix: `${exportKeys}, alone, into a keytab of its own` };
  return { status: 'ok', detail };
}
