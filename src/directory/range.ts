import type { Client, Entry } from 'ldapts';
import { rangedValues, values } from './entry.js';

/**
 * Values from an entry already in hand, following Active Directory's range retrieval: past
 * MaxValRange (1500) values AD returns `member;range=0-1499` and the rest must be asked for range
 * by range. The remaining ranges are read only when the server cut the values short.
 */
export async function completeValues(client: Client, entry: Entry, attribute: string): Promise<string[]> {
  const ranged = rangedValues(entry, attribute);
  if (!ranged) return values(entry, attribute);
  if (ranged.end === '*') return ranged.values;
  const rest: string[] = [];
  let start = ranged.end + 1;
  for (;;) {
    const { searchEntries } = await client.search(entry.dn, { scope: 'base', filter: '(objectClass=*)', attributes: [`${attribute};range=${start}-*`] });
    const next = searchEntries[0] && rangedValues(searchEntries[0], attribute);
    if (!next) return [...ranged.values, ...rest];
    rest.push(...next.values);
    if (next.end === '*' || next.values.length === 0) return [...ranged.values, ...rest];
    start = next.end + 1;
  }
}
