/**
 * Paperless names are case-sensitive, but a person is one person however the directory spells
 * them (and Paperless's own lookups use `__iexact`): the exact spelling wins, then any case.
 */
export function byName<T>(items: readonly T[], name: string, nameOf: (item: T) => string): T | undefined {
  const lower = name.toLowerCase();
  return items.find((item) => nameOf(item) === name) ?? items.find((item) => nameOf(item).toLowerCase() === lower);
}
