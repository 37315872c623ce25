/**
 * Compares DNs the way RFC 4514 means them: attribute types and values are
 * case-insensitive for the usual attributes, and spaces around `,` and `=` do not count.
 */
export function normalizeDn(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((rdn) => rdn.split(/(?<!\\)=/).map((part) => part.trim()).join('='))
    .join(',')
    .toLowerCase();
}

export function sameDn(a: string, b: string): boolean {
  return normalizeDn(a) === normalizeDn(b);
}
