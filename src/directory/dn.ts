/** Splits on separators that are not escaped with a backslash. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + (text[i + 1] as string);
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

/** Decodes an attribute value's escapes (`\,` and `\2C` alike) into the characters they stand for. */
function unescapeValue(value: string): string {
  const bytes: number[] = [];
  const trimmed = value.replace(/^\s+/, '').replace(/(?<!\\)\s+$/, '');
  for (let i = 0; i < trimmed.length; i++) {
    const ch = trimmed[i] as string;
    if (ch === '\\' && /^[0-9a-fA-F]{2}$/.test(trimmed.slice(i + 1, i + 3))) {
      bytes.push(parseInt(trimmed.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (ch === '\\' && i + 1 < trimmed.length) {
      bytes.push(...Buffer.from(trimmed[i + 1] as string));
      i++;
    } else bytes.push(...Buffer.from(ch));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Each RDN of a DN in a canonical form, leaf first (see normalizeDn). */
function normalizedRdns(dn: string): string[] {
  return splitUnescaped(dn, ',').map((rdn) =>
    splitUnescaped(rdn, '+')
      .map((ava) => {
        const [type = '', ...rest] = splitUnescaped(ava, '=');
        return `${type.trim().toLowerCase()}=${JSON.stringify(unescapeValue(rest.join('=')).normalize('NFC').toLowerCase())}`;
      })
      .sort()
      .join('+'),
  );
}

/**
 * A canonical form for comparing DNs as RFC 4514 means them: attribute types
 * and (for the usual string attributes) values case-insensitive, spaces
 * around separators insignificant, `\,` and `\2C` the same character.
 */
export function normalizeDn(dn: string): string {
  return normalizedRdns(dn).join(',');
}

export function sameDn(a: string, b: string): boolean {
  return normalizeDn(a) === normalizeDn(b);
}

/** Whether `dn` is `base` or an entry below it, compared RDN by RDN as RFC 4514 means them. */
export function dnWithin(dn: string, base: string): boolean {
  const rdns = normalizedRdns(dn);
  const baseRdns = normalizedRdns(base);
  if (baseRdns.length > rdns.length) return false;
  return baseRdns.every((rdn, i) => rdn === rdns[rdns.length - baseRdns.length + i]);
}

/**
 * The DNS domain an Active Directory entry belongs to: its trailing DC= components
 * (`CN=alice,CN=Users,DC=example,DC=com` is of example.com; `…,DC=emea,DC=example,DC=com` of
 * emea.example.com), lower case. Empty when the DN ends in no DC=.
 */
export function dnsDomainOf(dn: string): string {
  const labels: string[] = [];
  const rdns = splitUnescaped(dn, ',');
  for (let i = rdns.length - 1; i >= 0; i--) {
    const avas = splitUnescaped(rdns[i] as string, '+');
    const [type = '', ...rest] = splitUnescaped(avas[0] as string, '=');
    if (avas.length !== 1 || type.trim().toLowerCase() !== 'dc') break;
    labels.unshift(unescapeValue(rest.join('=')).toLowerCase());
  }
  return labels.join('.');
}
