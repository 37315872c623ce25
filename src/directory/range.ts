import type { Client, Entry } from 'ldapts';
import { rangedValues, values } from './entry.js';

/**
 * All values of a multi-valued attribute, following Active Directory's range
 * retrieval: past MaxValRange (1500) values AD returns `member;range=0-1499`
 * and the rest must be asked for range by range. `step` asks for ranges
 * explicitly (servers that never range on their own still honour it).
 */
export async function readAllValues(client: Client, dn: string, attribute: string, step?: number): Promise<string[]> {
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const requested = step === undefined && start === 0 ? attribute : `${attribute};range=${start}-${step === undefined ? '*' : start + step - 1}`;
    const { searchEntries } = await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [requested] });
    const entry = searchEntries[0];
    if (!entry) return out;
    const ranged = rangedValues(entry, attribute);
    if (!ranged) return [...out, ...values(entry, attribute)];
    out.push(...ranged.values);
    if (ranged.end === '*' || ranged.values.length === 0) return out;
    start = ranged.end + 1;
  }
}

/** Values from an entry already in hand, reading the remaining ranges only when the server cut them short. */
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
