/**
 * What makes a Kerberos token unique: its authenticator's ciphertext, found by walking the DER of
 * the token (RFC 4178's SPNEGO NegTokenInit around RFC 1964's GSS token around RFC 4120's AP-REQ).
 * The same authenticator can be sent in other wrappings (a bare Kerberos token, another
 * NegTokenInit), and each would pass a check on the token's bytes; GSSAPI's own replay cache is
 * one replica's. Undefined when the structure is not the expected one in DER's one spelling:
 * such a token is refused, for a replay of it could not be recognised.
 */

/** One DER element: its tag, and where its content starts and ends. */
interface Element {
  tag: number;
  start: number;
  end: number;
}

/**
 * One element in DER's one spelling: a one-byte tag (no high-tag-number form) and the shortest
 * length (the long form only from 128, without leading zeros). GSSAPI's decoder reads the other
 * spellings too, so a token spelled otherwise could make this walk and GSSAPI see two different
 * authenticators: it is refused instead.
 */
function element(bytes: Buffer, at: number): Element | undefined {
  if (at + 2 > bytes.length) return undefined;
  const tag = bytes[at] as number;
  if ((tag & 0x1f) === 0x1f) return undefined;
  let length = bytes[at + 1] as number;
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 3 || start + octets > bytes.length || bytes[start] === 0) return undefined;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (bytes[start + i] as number);
    if (length < 0x80) return undefined;
    start += octets;
  }
  const end = start + length;
  return end <= bytes.length ? { tag, start, end } : undefined;
}

/** The elements that exactly fill a constructed one (none left over), or undefined. */
function children(bytes: Buffer, parent: Element): Element[] | undefined {
  const out: Element[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const child = element(bytes, at);
    if (!child || child.end > parent.end) return undefined;
    out.push(child);
    at = child.end;
  }
  return out;
}

/** The one element an explicit tag ([n]) holds, filling it, of this tag. */
function only(bytes: Buffer, parent: Element | undefined, tag: number): Element | undefined {
  const inner = parent ? children(bytes, parent) : undefined;
  return inner?.length === 1 && inner[0]?.tag === tag ? inner[0] : undefined;
}

/** A SEQUENCE's fields, each [n] at most once and in rising order, as DER writes them; undefined otherwise. */
function fields(bytes: Buffer, sequence: Element | undefined, allowed: readonly number[]): Map<number, Element> | undefined {
  if (!sequence || sequence.tag !== 0x30) return undefined;
  const list = children(bytes, sequence);
  if (!list) return undefined;
  const out = new Map<number, Element>();
  let last = -1;
  for (const field of list) {
    const index = allowed.indexOf(field.tag);
    if (index <= last) return undefined;
    last = index;
    out.set(field.tag, field);
  }
  return out;
}

const SPNEGO = Buffer.from([0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]);
const KRB5 = [Buffer.from([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02]), Buffer.from([0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02])];
/** A GSS token id: 01 00 is an AP-REQ. */
const AP_REQ_ID = Buffer.from([0x01, 0x00]);

/**
 * The AP-REQ's authenticator ciphertext inside a GSS token (0x60, filling the token), SPNEGO-wrapped
 * or bare. Every element on the way is checked whole: the fields each structure has, once each, in
 * order, nothing beside or after them; NegTokenInit's reqFlags exactly a BIT STRING of two bytes
 * and its mechTypes exactly one SEQUENCE OF (an older MIT reads past such fields by fixed steps).
 */
export function authenticatorOf(token: Buffer, depth = 0): Buffer | undefined {
  const outer = element(token, 0);
  if (!outer || outer.tag !== 0x60 || outer.end !== token.length || depth > 1) return undefined;
  const oid = element(token, outer.start);
  if (!oid || oid.tag !== 0x06) return undefined;
  const mech = token.subarray(oid.start, oid.end);
  if (mech.equals(SPNEGO)) {
    // [0] NegTokenInit ::= SEQUENCE { [0] mechTypes, [1] reqFlags, [2] mechToken OCTET STRING, [3] mechListMIC }
    const init = element(token, oid.end);
    if (!init || init.tag !== 0xa0 || init.end !== outer.end) return undefined;
    const negTokenInit = fields(token, only(token, init, 0x30), [0xa0, 0xa1, 0xa2, 0xa3]);
    if (!negTokenInit) return undefined;
    const mechTypes = negTokenInit.get(0xa0);
    const mechList = only(token, mechTypes, 0x30);
    if (!mechTypes || !mechList || !children(token, mechList)?.every((e) => e.tag === 0x06 && e.end > e.start)) return undefined;
    const reqFlags = negTokenInit.get(0xa1);
    if (reqFlags) {
      const bits = only(token, reqFlags, 0x03);
      if (!bits || bits.end - bits.start !== 2) return undefined;
    }
    const mechListMic = negTokenInit.get(0xa3);
    if (mechListMic && !only(token, mechListMic, 0x04)) return undefined;
    const octets = only(token, negTokenInit.get(0xa2), 0x04);
    return octets ? authenticatorOf(token.subarray(octets.start, octets.end), depth + 1) : undefined;
  }
  if (!KRB5.some((k) => mech.equals(k))) return undefined;
  if (!token.subarray(oid.end, oid.end + 2).equals(AP_REQ_ID)) return undefined;
  // [APPLICATION 14] AP-REQ ::= SEQUENCE { [0] pvno, [1] msg-type, [2] ap-options, [3] ticket, [4] authenticator }
  const apReq = element(token, oid.end + 2);
  if (!apReq || apReq.tag !== 0x6e || apReq.end !== outer.end) return undefined;
  const apFields = fields(token, only(token, apReq, 0x30), [0xa0, 0xa1, 0xa2, 0xa3, 0xa4]);
  if (!apFields || apFields.size !== 5) return undefined;
  // EncryptedData ::= SEQUENCE { [0] etype, [1] kvno OPTIONAL, [2] cipher OCTET STRING }
  const encrypted = fields(token, only(token, apFields.get(0xa4), 0x30), [0xa0, 0xa1, 0xa2]);
  if (!encrypted?.has(0xa0)) return undefined;
  const cipher = only(token, encrypted.get(0xa2), 0x04);
  return cipher ? token.subarray(cipher.start, cipher.end) : undefined;
}
