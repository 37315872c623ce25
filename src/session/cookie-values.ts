import { parse as parseCookies } from 'cookie';

/** Values as they stand in the header: only the one cookie the gateway reads is decoded. */
const KEEP_ENCODED = { decode: (value: string): string => value };

/**
 * One cookie's value from Cookie headers, decoded as the `cookie` package decodes it
 * (`decodeURIComponent` when there is a `%`, the value as it stands when that fails), with the
 * decoded form of recent values remembered: the signed session cookie always holds `%3A`, and
 * V8's `decodeURIComponent` was the largest part of reading it on every proxied request. Which
 * occurrence counts (the first) is still the `cookie` package's own parse.
 */
export class CookieValues {
  private readonly decoded = new Map<string, string>();

  constructor(
    private readonly name: string,
    /** Bounded, since the values are the client's: when full, it starts over. */
    private readonly maxEntries = 4096,
  ) {}

  of(header: string | undefined): string | undefined {
    if (!header || !header.includes(this.name)) return undefined;
    const encoded = parseCookies(header, KEEP_ENCODED)[this.name];
    if (encoded === undefined || !encoded.includes('%')) return encoded;
    const known = this.decoded.get(encoded);
    if (known !== undefined) return known;
    let value = encoded;
    try {
      value = decodeURIComponent(encoded);
    } catch {
      // As the cookie package does: a value that is not valid percent-encoding stays as it is.
    }
    if (this.decoded.size >= this.maxEntries) this.decoded.clear();
    this.decoded.set(encoded, value);
    return value;
  }
}
