import type { Entry } from 'ldapts';

function key(entry: Entry, attribute: string): string | undefined {
  // Servers spell attribute names as they like (memberOf, memberof); compare case-insensitively.
  const wanted = attribute.toLowerCase();
  return Object.keys(entry).find((k) => k.toLowerCase() === wanted);
}

function text(value: Buffer | string): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : value;
}

/** Every value of an attribute as text. */
export function values(entry: Entry, attribute: string): string[] {
  const k = key(entry, attribute);
  const v = k === undefined ? undefined : entry[k];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(text);
}

/** The first non-empty value of an attribute, if any. */
export function firstValue(entry: Entry, attribute: string): string | undefined {
  return values(entry, attribute).find((v) => v !== '');
}

/** An attribute returned in ranges (`member;range=0-1499`): its values and where the range ended (`*` = last). */
export function rangedValues(entry: Entry, attribute: string): { values: string[]; end: number | '*' } | undefined {
  const pattern = new RegExp(`^${attribute};range=(\\d+)-(\\d+|\\*)$`, 'i');
  for (const k of Object.keys(entry)) {
    const m = pattern.exec(k);
    if (!m) continue;
    const v = entry[k];
    const list = v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(text);
    return { values: list, end: m[2] === '*' ? '*' : Number(m[2]) };
  }
  return undefined;
}
