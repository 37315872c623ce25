/**
 * What makes a Kerberos token unique: its authenticator's ciphertext, found by walking the DER of
 * the token (RFC 4178's SPNEGO NegTokenInit around RFC 1964's GSS token around RFC 4120's AP-REQ).
 * The same authenticator can be sent in other wrappings (a bare Kerberos token, another
 * NegTokenInit), and each would pass a check on the token's bytes; GSSAPI's own replay cache is
 * one replica's. Undefined when the structure is not the expected one: such a token is refused,
 * for a replay of it could not be recognised.
 */

/** One DER element: its tag, and where its content starts and ends. */
interface Element {
  tag: number;
  start: number;
  end: number;
}

function element(bytes: Buffer, at: number): Element | undefined {
  if (at + 2 > bytes.length) return undefined;
  const tag = bytes[at] as number;
  let length = bytes[at + 1] as number;
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    // Leading zero octets too (GSSAPI reads any length of length), or a re-spelled length would
    // hide the authenticator; more than four cannot describe a token under the header limit.
    if (octets === 0 || octets > 4 || start + octets > bytes.length) return undefined;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (bytes[start + i] as number);
    start += octets;
  }
  const end = start + length;
  return end <= bytes.length ? { tag, start, end } : undefined;
}

/** The elements directly inside a constructed one. */
function children(bytes: Buffer, parent: Element): Element[] {
  const out: Element[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const child = element(bytes, at);
    if (!child || child.end > parent.end) return [];
    out.push(child);
    at = child.end;
  }
  return out;
}

const SPNEGO = Buffer.from([0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]);
const KRB5 = [Buffer.from([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02]), Buffer.from([0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02])];

/** The AP-REQ's authenticator ciphertext inside a GSS token (0x60), SPNEGO-wrapped or bare. */
export function authenticatorOf(token: Buffer, depth = 0): Buffer | undefined {
  const outer = element(token, 0);
  if (!outer || outer.tag !== 0x60 || depth > 1) return undefined;
  const oid = element(token, outer.start);
  if (!oid || oid.tag !== 0x06) return undefined;
  const mech = token.subarray(oid.start, oid.end);
  if (mech.equals(SPNEGO)) {
    // [0] NegTokenInit ::= SEQUENCE { [0] mechTypes, [1] reqFlags, [2] mechToken OCTET STRING, ... }
    const init = element(token, oid.end);
    const sequence = init && init.tag === 0xa0 ? element(token, init.start) : undefined;
    const mechToken = sequence && sequence.tag === 0x30 ? children(token, sequence).find((e) => e.tag === 0xa2) : undefined;
    const octets = mechToken ? element(token, mechToken.start) : undefined;
    return octets && octets.tag === 0x04 ? authenticatorOf(token.subarray(octets.start, octets.end), depth + 1) : undefined;
  }
  if (!KRB5.some((k) => mech.equals(k))) return undefined;
  // Two octets of token id (01 00: an AP-REQ), then [APPLICATION 14] AP-REQ ::= SEQUENCE { ..., [4] authenticator EncryptedData }.
  const apReq = element(token, oid.end + 2);
  const fields = apReq && apReq.tag === 0x6e ? element(token, apReq.start) : undefined;
  const authenticator = fields && fields.tag === 0x30 ? children(token, fields).find((e) => e.tag === 0xa4) : undefined;
  const encrypted = authenticator ? element(token, authenticator.start) : undefined;
  // EncryptedData ::= SEQUENCE { [0] etype, [1] kvno OPTIONAL, [2] cipher OCTET STRING }
  const cipherField = encrypted && encrypted.tag === 0x30 ? children(token, encrypted).find((e) => e.tag === 0xa2) : undefined;
  const cipher = cipherField ? element(token, cipherField.start) : undefined;
  return cipher && cipher.tag === 0x04 ? token.subarray(cipher.start, cipher.end) : undefined;
}
