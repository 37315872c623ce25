import { addressKey } from './address-key.js';

/**
 * What each client address holds of something scarce (upstream sockets, token look-ups, GSSAPI
 * turns), counted by its share key (address-key.ts) and capped at `limit`.
 */
export class AddressShares {
  private readonly held = new Map<string, number>();

  constructor(private readonly limit: number) {}

  /** Takes one of the address's share; false, and nothing taken, when it holds its limit. */
  take(ip: string): boolean {
    const share = addressKey(ip);
    const count = this.held.get(share) ?? 0;
    if (count >= this.limit) return false;
    this.held.set(share, count + 1);
    return true;
  }

  /** Gives one back (a place taken by `take`). */
  give(ip: string): void {
    const share = addressKey(ip);
    const left = (this.held.get(share) ?? 1) - 1;
    if (left > 0) this.held.set(share, left);
    else this.held.delete(share);
  }

  /** How many the address holds now. */
  holding(ip: string): number {
    return this.held.get(addressKey(ip)) ?? 0;
  }
}
