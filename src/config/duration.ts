const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90`, `90s`, `30m`, `12h`, `7d` or `500ms` into milliseconds; plain numbers are seconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!match) return undefined;
  const [, amount, unit] = match;
  return Number(amount) * (UNITS[unit ?? 's'] ?? 1000);
}
